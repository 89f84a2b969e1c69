import { ORGANIZATION_ROLES, SYSTEM_ROLES } from '../../../src/domain/roles';
import { api } from '../api';
import { field, h, replace, select, table, uid, when } from '../dom';
import { href, type PageContext } from '../session';
import { auditRows, AUDIT_COLUMNS, type AuditEvent } from './audit';
import { accountType, mfa, states, type UserRow } from './users';

interface UserDetail extends UserRow {
  name: { givenName?: string; familyName?: string };
  emails: { value: string | null; type: string | null; primary: boolean }[];
  externalId: string | null;
  title: string | null;
  createdAt: string;
  updatedAt: string;
}
type Refusal = { code: string; message: string } | null;

const ACTION_LABELS: Record<string, string> = {
  disable: 'Disable',
  enable: 'Enable',
  clearLock: 'Clear lock',
  requireMfaReset: 'Require MFA reset',
  requirePasswordReset: 'Require password reset',
};

type Act = (action: string, body?: object) => Promise<void>;

/**
 * The action buttons, each with the rule that forbids it in words (the button stays
 * usable: pressing it shows the server's refusal). When one rule forbids every action
 * (the user is out of reach), it is said once.
 */
function actionsSection(user: UserDetail, actions: Record<string, Refusal>, act: Act, error: HTMLElement): HTMLElement {
  const offered = Object.keys(ACTION_LABELS).filter((name) => name in actions);
  const messages = new Set(offered.map((name) => actions[name]?.message ?? null));
  const shared = messages.size === 1 ? [...messages][0] : null;
  const sharedId = uid('reason');
  const buttons = offered.map((name) => {
    const refusal = actions[name];
    const reasonId = shared ? sharedId : uid('reason');
    return h(
      'div',
      { class: 'action' },
      h(
        'button',
        { type: 'button', class: name === 'disable' ? 'danger' : '', onclick: () => void act(name), 'aria-describedby': refusal ? reasonId : null },
        ACTION_LABELS[name],
      ),
      refusal && !shared ? h('p', { class: 'rule', id: reasonId }, h('strong', null, 'Not allowed: '), refusal.message) : null,
    );
  });
  return h(
    'section',
    { 'aria-labelledby': 'actions-title' },
    h('h2', { id: 'actions-title', tabindex: '-1' }, 'Actions'),
    shared ? h('p', { class: 'rule', id: sharedId }, h('strong', null, 'Not allowed: '), shared) : null,
    h('div', { class: 'actions' }, ...buttons),
    error,
    rolesForm(user, actions.changeRoles?.message === shared ? null : actions.changeRoles, act),
  );
}

function rolesForm(user: UserDetail, refusal: Refusal | undefined, act: Act): HTMLElement {
  const systemRole = select(
    'systemRole',
    SYSTEM_ROLES.map((r) => [r, r]),
    user.systemRole,
  );
  const organizationRole = select(
    'organizationRole',
    ORGANIZATION_ROLES.map((r) => [r, r]),
    user.organizationRole,
  );
  return h(
    'form',
    {
      class: 'roles',
      'aria-labelledby': 'roles-title',
      onsubmit: (e: Event) => (e.preventDefault(), void act('changeRoles', { systemRole: systemRole.value, organizationRole: organizationRole.value })),
    },
    h('h3', { id: 'roles-title' }, 'Roles'),
    field('System role', systemRole),
    field('Organization role', organizationRole),
    h('button', { type: 'submit' }, 'Change roles'),
    refusal ? h('p', { class: 'rule' }, h('strong', null, 'Not allowed: '), refusal.message) : null,
  );
}

/** One user as the platform's Users view shows one, with the actions this administrator may take. */
export async function userPage(main: HTMLElement, context: PageContext): Promise<void> {
  const { org, id } = context.route;
  const data = await api<{ user: UserDetail; actions: Record<string, Refusal>; audit: AuditEvent[] }>('GET', `/orgs/${org}/users/${id}`);
  const { user } = data;
  const error = h('p', { role: 'alert', class: 'error', id: 'action-error', tabindex: '-1' });
  const act: Act = async (action, body = {}) => {
    error.textContent = '';
    try {
      await api('POST', `/orgs/${org}/users/${user.id}/actions/${action}`, body);
      await userPage(main, context);
      context.announce(`${ACTION_LABELS[action] ?? 'Roles changed'}: done for ${user.userName}.`);
      (document.getElementById('actions-title') as HTMLElement | null)?.focus();
    } catch (failure) {
      error.textContent = `Refused: ${(failure as Error).message}`;
      error.focus();
    }
  };
  const facts: [string, Node | string][] = [
    ['User name', user.userName],
    [
      'Email',
      user.emails
        .map((e) => e.value)
        .filter(Boolean)
        .join(', ') || '—',
    ],
    ['System role', user.systemRole],
    ['Organization role', user.organizationRole],
    ['Account type', accountType(user.accountType)],
    ['State', states(user)],
    ['MFA', mfa(user)],
    ['Password reset required', user.passwordResetRequired ? 'Yes' : 'No'],
    [
      'Groups',
      user.groups.length ? h('span', null, ...user.groups.flatMap((g, i) => [i ? ', ' : '', h('a', { href: href(org, 'groups', g.id) }, g.displayName)])) : '—',
    ],
    ['External id', user.externalId ?? '—'],
    ['Created', when(user.createdAt)],
    ['Last modified', when(user.updatedAt)],
  ];
  replace(
    main,
    h('p', { class: 'crumbs' }, h('a', { href: href(org, 'users') }, '← Users')),
    h('h1', null, user.displayName ?? user.userName),
    h('dl', { class: 'facts' }, ...facts.flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)])),
    actionsSection(user, data.actions, act, error),
    h(
      'section',
      { 'aria-labelledby': 'trail-title' },
      h('h2', { id: 'trail-title' }, 'Audit trail'),
      table('Audit trail', AUDIT_COLUMNS, auditRows(data.audit), 'No events about this user.'),
    ),
  );
}
