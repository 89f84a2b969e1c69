import { api } from '../api';
import { badge, h, replace, table, when } from '../dom';
import type { PageContext } from '../session';

interface Receiver {
  id: string;
  url: string;
  events: string[] | null;
  createdAt: string;
  pending: number;
  lastDeliveredAt: string | null;
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  failing: boolean;
  failingSince: string | null;
}
interface Delivered {
  id: string;
  time: string;
  resourceType: string;
  resourceId: string;
  events: string[];
  attributes: string[];
  deliveries: { receiverId: string; url: string; state: 'delivered' | 'pending' | 'failing' }[];
}

const short = (uri: string) => uri.replace('urn:ietf:params:scim:event:prov:', '');
const TONE = { delivered: 'good', pending: 'warn', failing: 'bad' } as const;

/** Receivers and deliveries: each push receiver's state, and the latest events with where they stand. */
export async function receiversPage(main: HTMLElement, context: PageContext): Promise<void> {
  const data = await api<{ receivers: Receiver[]; events: Delivered[] }>('GET', `/orgs/${context.route.org}/receivers`);
  replace(
    main,
    h('h1', null, 'Receivers and deliveries'),
    h(
      'p',
      null,
      'Security events (RFC 8935 push) sent to each receiver, in order. An operator adds receivers with ',
      h('code', null, 'roster receiver add'),
      '.',
    ),
    table(
      'Receivers',
      ['Receiver', 'Events', 'State', 'Pending', 'Last delivery', 'Last error'],
      data.receivers.map((r) => [
        h('span', { class: 'mono' }, r.url),
        r.events ? r.events.map(short).join(', ') : 'All',
        r.failing
          ? badge(`Failing since ${when(r.failingSince)}`, 'bad')
          : r.attempts > 0
            ? badge(`Retrying (${r.attempts})`, 'warn')
            : badge('Healthy', 'good'),
        String(r.pending),
        when(r.lastDeliveredAt),
        r.lastError ?? '—',
      ]),
      'No receivers: events are only polled (POST /scim/v2/Events/poll), if at all.',
    ),
    h('h2', null, 'Latest events'),
    table(
      'Latest events',
      ['When', 'Event', 'Resource', 'Changed', 'Deliveries'],
      data.events.map((e) => [
        when(e.time),
        e.events.map(short).join(', '),
        `${e.resourceType} ${e.resourceId.slice(0, 8)}`,
        e.attributes.map((a) => a.replace(/^urn:.*:/, '')).join(', '),
        e.deliveries.length ? h('span', { class: 'badges' }, ...e.deliveries.map((d) => badge(`${new URL(d.url).host}: ${d.state}`, TONE[d.state]))) : '—',
      ]),
      'No events yet.',
    ),
  );
}
