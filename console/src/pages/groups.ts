import { api, query } from '../api';
import { field, h, replace, table, when } from '../dom';
import { href, type PageContext } from '../session';
import { pager } from './pager';

interface GroupRow {
  id: string;
  displayName: string;
  externalId: string | null;
}

/** Groups: a search and a page of groups; a group opens with a page of its members. */
export async function groupsPage(main: HTMLElement, context: PageContext): Promise<void> {
  const { org, id, params } = context.route;
  const startIndex = Number(params.get('startIndex') ?? '1') || 1;
  if (id) return groupPage(main, context, id, startIndex);
  const q = params.get('q') ?? '';
  const count = 25;
  const page = await api<{ total: number; groups: GroupRow[] }>('GET', `/orgs/${org}/groups${query({ q, startIndex, count })}`);
  const search = h('input', { type: 'search', name: 'q', value: q });
  replace(
    main,
    h('h1', null, 'Groups'),
    h(
      'form',
      {
        class: 'filters',
        role: 'search',
        'aria-label': 'Find groups',
        onsubmit: (e: Event) => (e.preventDefault(), (location.hash = href(org, 'groups', undefined, { q: search.value }))),
      },
      field('Search', search, 'Part of the group’s name'),
      h('button', { type: 'submit' }, 'Apply'),
    ),
    pager('groups', page.total, startIndex, count, (start) => href(org, 'groups', undefined, { q, startIndex: start })),
    table(
      'Groups',
      ['Group', 'External id'],
      page.groups.map((g) => [h('a', { href: href(org, 'groups', g.id) }, g.displayName), g.externalId ?? '—']),
      'No groups match.',
    ),
  );
}

async function groupPage(main: HTMLElement, context: PageContext, id: string, startIndex: number): Promise<void> {
  const { org } = context.route;
  const count = 50;
  const data = await api<{
    group: GroupRow & { createdAt: string; updatedAt: string };
    members: { total: number; items: { id: string; display: string | null }[] };
  }>('GET', `/orgs/${org}/groups/${id}${query({ startIndex, count })}`);
  replace(
    main,
    h('p', { class: 'crumbs' }, h('a', { href: href(org, 'groups') }, '← Groups')),
    h('h1', null, data.group.displayName),
    h(
      'dl',
      { class: 'facts' },
      h('dt', null, 'External id'),
      h('dd', null, data.group.externalId ?? '—'),
      h('dt', null, 'Last modified'),
      h('dd', null, when(data.group.updatedAt)),
    ),
    h(
      'section',
      { 'aria-labelledby': 'members-title' },
      h('h2', { id: 'members-title' }, 'Members'),
      pager('members', data.members.total, startIndex, count, (start) => href(org, 'groups', id, { startIndex: start })),
      table(
        'Members',
        ['Member'],
        data.members.items.map((m) => [h('a', { href: href(org, 'users', m.id) }, m.display ?? m.id)]),
        'No members.',
      ),
    ),
  );
}
