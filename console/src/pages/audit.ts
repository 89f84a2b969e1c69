import { api, query } from '../api';
import { h, replace, table, when } from '../dom';
import { href, type PageContext } from '../session';

export interface AuditEvent {
  id: string;
  occurredAt: string;
  actor: string;
  action: string;
  targetType: string | null;
  targetId: string | null;
  targetName: string | null;
  details: Record<string, unknown>;
}

export const AUDIT_COLUMNS = ['When', 'Who', 'What', 'Target', 'Details'];

/** Details in words: a refusal's rule, what changed, roles before and after. */
function details(d: Record<string, unknown>): string {
  if (typeof d.reason === 'string') return d.reason;
  if (Array.isArray(d.changed)) return `changed ${d.changed.join(', ') || 'nothing'}`;
  if (d.from !== undefined && d.to !== undefined && typeof d.from === 'string') return `${d.from} → ${String(d.to)}`;
  const text = JSON.stringify(d);
  return text === '{}' ? '' : text;
}

export function auditRows(events: AuditEvent[]) {
  return events.map((e) => [when(e.occurredAt), e.actor, e.action, e.targetName ?? e.targetType ?? '—', details(e.details)]);
}

/** Audit: the organization's trail, newest first, a page at a time. */
export async function auditPage(main: HTMLElement, context: PageContext): Promise<void> {
  const { org, params } = context.route;
  const before = params.get('before') ?? undefined;
  const page = await api<{ events: AuditEvent[]; next: string | null }>('GET', `/orgs/${org}/audit${query({ before, count: 50 })}`);
  replace(
    main,
    h('h1', null, 'Audit'),
    h('p', null, 'Every change and every refusal, newest first: who acted (a token or a console administrator), what, and on whom.'),
    table('Audit trail', AUDIT_COLUMNS, auditRows(page.events), 'No events yet.'),
    h(
      'nav',
      { class: 'pager', 'aria-label': 'Pages of the audit trail' },
      before ? h('a', { href: href(org, 'audit') }, 'Newest') : null,
      page.next ? h('a', { href: href(org, 'audit', undefined, { before: page.next }), rel: 'next' }, 'Older') : null,
    ),
  );
}
