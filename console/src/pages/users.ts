import { api, query } from '../api';
import { badge, field, h, replace, select, table } from '../dom';
import { href, type PageContext } from '../session';
import { pager } from './pager';
import { userPage } from './user';

export interface UserRow {
  id: string;
  userName: string;
  displayName: string | null;
  email: string | null;
  systemRole: string;
  organizationRole: string;
  accountType: string;
  active: boolean;
  locked: boolean;
  mfaEnabled: boolean;
  mfaResetRequired: boolean;
  passwordResetRequired: boolean;
  groups: { id: string; displayName: string }[];
}

const ACCOUNT_TYPES: Record<string, string> = { standard: 'Standard', api: 'API', taxii: 'TAXII', readOnly: 'Read-only' };
export const accountType = (type: string) => ACCOUNT_TYPES[type] ?? type;

/** Active / disabled, locked: words, not only colours. */
export function states(user: UserRow): HTMLElement {
  return h('span', { class: 'badges' }, user.active ? badge('Active', 'good') : badge('Disabled', 'bad'), user.locked ? badge('Locked', 'warn') : null);
}

export function mfa(user: UserRow): HTMLElement {
  return h(
    'span',
    { class: 'badges' },
    user.mfaEnabled ? badge('MFA on', 'good') : badge('MFA off'),
    user.mfaResetRequired ? badge('MFA reset required', 'warn') : null,
  );
}

const FIELDS = ['q', 'state', 'filter', 'sortBy', 'sortOrder'] as const;

/** The Users page's filters: its values come from the address, and Apply writes them back there. */
function filterForm(org: string, value: (name: string) => string): HTMLElement {
  const q = h('input', { type: 'search', name: 'q', value: value('q') });
  const state = select(
    'state',
    [
      ['', 'Any'],
      ['active', 'Active'],
      ['disabled', 'Disabled'],
      ['locked', 'Locked'],
      ['mfaResetRequired', 'MFA reset required'],
      ['passwordResetRequired', 'Password reset required'],
    ],
    value('state'),
  );
  const filter = h('input', { type: 'text', name: 'filter', value: value('filter'), class: 'mono', placeholder: 'userName sw "a"' });
  const sortBy = select(
    'sortBy',
    [
      ['userName', 'User name'],
      ['displayName', 'Display name'],
      ['familyName', 'Family name'],
      ['created', 'Created'],
      ['lastModified', 'Last modified'],
    ],
    value('sortBy') || 'userName',
  );
  const sortOrder = select(
    'sortOrder',
    [
      ['ascending', 'Ascending'],
      ['descending', 'Descending'],
    ],
    value('sortOrder') || 'ascending',
  );
  return h(
    'form',
    {
      class: 'filters',
      role: 'search',
      'aria-label': 'Find users',
      onsubmit: (event: Event) => {
        event.preventDefault();
        const data = new FormData(event.target as HTMLFormElement);
        location.hash = href(org, 'users', undefined, Object.fromEntries(FIELDS.map((f) => [f, String(data.get(f) ?? '')])));
      },
    },
    field('Search', q, 'User name, display name or email'),
    field('State', state),
    field('SCIM filter', filter, 'The same filters as GET /Users?filter='),
    field('Sort by', sortBy),
    field('Order', sortOrder),
    h('button', { type: 'submit' }, 'Apply'),
  );
}

/** Users: search, state, a SCIM filter, sort and pages, as the platform's Users view shows them. */
export async function usersPage(main: HTMLElement, context: PageContext): Promise<void> {
  if (context.route.id) return userPage(main, context);
  const { org, params } = context.route;
  const value = (name: string) => params.get(name) ?? '';
  const startIndex = Number(params.get('startIndex') ?? '1') || 1;
  const count = 25;
  const form = filterForm(org, value);
  const results = h('div', { 'aria-live': 'polite' });
  replace(main, h('h1', null, 'Users'), form, results);
  const current = Object.fromEntries(FIELDS.map((f) => [f, value(f) || undefined]));
  try {
    const page = await api<{ total: number; users: UserRow[] }>('GET', `/orgs/${org}/users${query({ ...current, startIndex, count })}`);
    replace(
      results,
      pager('users', page.total, startIndex, count, (start) => href(org, 'users', undefined, { ...current, startIndex: start })),
      table(
        'Users',
        ['User', 'Roles', 'Account type', 'State', 'MFA', 'Groups'],
        page.users.map((u) => [
          h('a', { href: href(org, 'users', u.id) }, u.userName),
          h('span', null, u.systemRole, h('br'), h('small', null, u.organizationRole)),
          accountType(u.accountType),
          states(u),
          mfa(u),
          u.groups.map((g) => g.displayName).join(', ') || '—',
        ]),
        'No users match.',
      ),
    );
  } catch (failure) {
    replace(results, h('p', { role: 'alert', class: 'error' }, (failure as Error).message));
  }
}
