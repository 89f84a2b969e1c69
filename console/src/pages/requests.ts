import { api, query } from '../api';
import { badge, field, h, replace, select, table, when, type Child } from '../dom';
import { href, type PageContext } from '../session';

interface RequestRow {
  id: string;
  time: string;
  requestId: string;
  operation: number | null;
  method: string;
  path: string;
  filter: string | null;
  status: number;
  scimType: string | null;
  detail: string | null;
  rule: { code: string; rule?: string; says?: string } | null;
  refusedBy: string | null;
  client: string;
  userAgent: string | null;
  credentialId: string | null;
  credentialName: string | null;
  durationMs: number;
  resourceIds: string[];
}

interface RequestEntry extends RequestRow {
  changes: { resourceType: string; resourceId: string; action: string; changes: { attribute: string; before?: unknown; after?: unknown }[] }[];
  requestBody: string | null;
  responseBody: string | null;
}

/** How often the list asks for new entries (the log itself is written about once a second). */
const REFRESH_MS = 5_000;
const FIELDS = ['status', 'client'] as const;
const CLIENTS: Record<string, string> = { okta: 'Okta', entra: 'Entra ID', other: 'Other' };
let paused = false;

const statusBadge = (status: number) => h('span', { class: 'badges' }, badge(String(status), status >= 500 ? 'bad' : status >= 400 ? 'warn' : 'good'));
const where = (e: RequestRow) => (e.operation !== null ? `${e.path} (Bulk operation ${e.operation})` : e.path);
const seconds = (iso: string) => `${when(iso).slice(0, -4)}:${new Date(iso).toISOString().slice(17, 19)} UTC`;

function filterForm(org: string, value: (name: string) => string): HTMLElement {
  const status = select(
    'status',
    [
      ['', 'Any'],
      ['4xx', '4xx (refused)'],
      ['5xx', '5xx (failed)'],
      ['403', '403 (forbidden)'],
      ['2xx', '2xx (succeeded)'],
    ],
    value('status'),
  );
  const client = select('client', [['', 'Any'], ...Object.entries(CLIENTS)], value('client'));
  return h(
    'form',
    {
      class: 'filters',
      role: 'search',
      'aria-label': 'Filter requests',
      onsubmit: (event: Event) => {
        event.preventDefault();
        const data = new FormData(event.target as HTMLFormElement);
        location.hash = href(org, 'requests', undefined, Object.fromEntries(FIELDS.map((f) => [f, String(data.get(f) ?? '')])));
      },
    },
    field('Status', status),
    field('Client', client, 'From the User-Agent'),
    h('button', { type: 'submit' }, 'Apply'),
  );
}

/** A detail cut to a line (the entry shows it whole), as `roster requests` does. */
const short = (text: string | null) => (text === null ? '—' : text.length > 100 ? `${text.slice(0, 99)}…` : text);

function rows(org: string, entries: RequestRow[]): Child[][] {
  return entries.map((e) => [
    h('a', { href: href(org, 'requests', e.id), 'data-id': e.id }, seconds(e.time)),
    e.method,
    h('span', { class: 'mono' }, where(e)),
    statusBadge(e.status),
    CLIENTS[e.client] ?? e.client,
    e.credentialName ?? '—',
    e.rule ? `${e.rule.rule ? `rule ${e.rule.rule}` : e.rule.code}` : short(e.detail),
  ]);
}

/**
 * Requests: the request log, newest first, refreshing itself every few seconds (a button
 * pauses it). A refresh replaces the rows in place, keeps the focused row focused, and
 * says only how many new requests came, politely.
 */
export async function requestsPage(main: HTMLElement, context: PageContext): Promise<void> {
  if (context.route.id) return requestPage(main, context);
  const { org, params } = context.route;
  const value = (name: string) => params.get(name) ?? '';
  const filters = Object.fromEntries(FIELDS.map((f) => [f, value(f) || undefined]));
  const results = h('div', { class: 'requests' });
  const updated = h('small', { class: 'hint' });
  const toggle = h('button', { type: 'button', class: 'secondary', 'aria-pressed': 'false' });
  const showToggle = () => {
    toggle.textContent = paused ? 'Resume refreshing' : 'Pause refreshing';
    toggle.setAttribute('aria-pressed', String(paused));
  };
  toggle.addEventListener('click', () => {
    paused = !paused;
    showToggle();
    context.announce(paused ? 'Refreshing paused.' : 'Refreshing resumed.');
    if (!paused) void load();
  });
  showToggle();
  replace(
    main,
    h('h1', null, 'Requests'),
    h('p', null, 'Every SCIM request, newest first: who sent it, what Roster answered, and for a refusal the rule in words. Open one to see its bodies.'),
    filterForm(org, value),
    h('div', { class: 'refresh' }, toggle, ' ', updated),
    results,
  );
  let seen: Set<string> | undefined;
  const load = async () => {
    const page = await api<{ requests: RequestRow[] }>('GET', `/orgs/${org}/requests${query({ ...filters, limit: 100 })}`);
    if (!results.isConnected && seen !== undefined) return;
    const fresh = seen ? page.requests.filter((e) => !seen?.has(e.id)).length : 0;
    seen = new Set(page.requests.map((e) => e.id));
    const focused = (document.activeElement as HTMLElement | null)?.closest('[data-id]')?.getAttribute('data-id');
    replace(
      results,
      table(
        'Requests, newest first',
        ['Time', 'Method', 'Path', 'Status', 'Client', 'Credential', 'Rule or detail'],
        rows(org, page.requests),
        'No requests match.',
      ),
    );
    if (focused) (results.querySelector(`[data-id="${CSS.escape(focused)}"]`) as HTMLElement | null)?.focus();
    updated.textContent = `Updated ${seconds(new Date().toISOString())}${paused ? '' : `; refreshing every ${REFRESH_MS / 1000} seconds`}`;
    if (fresh > 0) context.announce(`${fresh} new request${fresh === 1 ? '' : 's'}.`);
  };
  try {
    await load();
  } catch (failure) {
    replace(results, h('p', { role: 'alert', class: 'error' }, (failure as Error).message));
  }
  const timer = window.setInterval(() => {
    if (!main.isConnected || !results.isConnected) return window.clearInterval(timer);
    if (paused || document.hidden) return;
    load().catch(() => (updated.textContent = 'Could not refresh; trying again shortly.'));
  }, REFRESH_MS);
}

const show = (value: unknown) => (value === undefined ? '(none)' : JSON.stringify(value));

/** A stored body, indented when it is JSON (a truncated one stays as it was). */
function body(text: string | null): string {
  if (text === null) return '(none)';
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** One request: what came, what went back, the rule that refused it in words, and what it changed. */
async function requestPage(main: HTMLElement, context: PageContext): Promise<void> {
  const { org, id } = context.route;
  const { request: e } = await api<{ request: RequestEntry }>('GET', `/orgs/${org}/requests/${encodeURIComponent(id ?? '')}`);
  const fact = (term: string, detail: Child) => [h('dt', null, term), h('dd', null, detail)];
  replace(
    main,
    h('p', null, h('a', { href: href(org, 'requests') }, '← All requests')),
    h('h1', null, `${e.method} ${where(e)}`),
    h(
      'dl',
      { class: 'facts' },
      fact('Time', seconds(e.time)),
      fact('Status', h('span', null, statusBadge(e.status), e.scimType ? ` ${e.scimType}` : '', ` in ${e.durationMs} ms`)),
      e.rule ? fact('Refused by', h('div', { class: 'rule' }, e.refusedBy)) : null,
      e.detail ? fact('Detail', e.detail) : null,
      fact('Client', `${CLIENTS[e.client] ?? e.client}${e.userAgent ? ` (${e.userAgent})` : ''}`),
      fact('Credential', `${e.credentialName ?? '—'}${e.credentialId ? ` (${e.credentialId})` : ''}`),
      e.filter ? fact('Filter', h('span', { class: 'mono' }, e.filter)) : null,
      fact('Request id', h('span', { class: 'mono' }, e.requestId)),
      e.resourceIds.length > 0 ? fact('Resources', h('span', { class: 'mono' }, e.resourceIds.join(', '))) : null,
    ),
    h('h2', null, 'Changes'),
    e.changes.length === 0
      ? h('p', { class: 'empty' }, e.status < 400 ? 'Nothing changed.' : 'Nothing changed: the request was refused.')
      : e.changes.map((c) =>
          h(
            'section',
            null,
            h('h3', null, `${c.resourceType} ${c.resourceId} ${c.action}`),
            table(
              `Changes to ${c.resourceType} ${c.resourceId}`,
              ['Attribute', 'Before → after'],
              c.changes.map((a) => [a.attribute, h('span', { class: 'mono' }, `${show(a.before)} → ${show(a.after)}`)]),
              'No attribute changed.',
            ),
          ),
        ),
    h('h2', null, 'Request body'),
    h('pre', { class: 'body', tabindex: '0', 'aria-label': 'Request body (secrets redacted)' }, body(e.requestBody)),
    h('h2', null, 'Response body'),
    h('pre', { class: 'body', tabindex: '0', 'aria-label': 'Response body' }, body(e.responseBody)),
  );
}
