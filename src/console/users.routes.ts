import type { Request, Router } from 'express';
import type { Logger } from 'pino';
import type { Actor } from '../domain/actor';
import { ROSTER_USER_URN } from '../domain/events';
import type { AttributePath, Filter } from '../domain/filter';
import type { OrganizationService } from '../domain/organization.service';
import type { ListQuery } from '../domain/ports';
import { accountTypeOf, organizationRoleNamed, systemRoleNamed } from '../domain/roles';
import type { UserService } from '../domain/user.service';
import type { User, UserDraft, UserFields } from '../domain/user';
import { parseFilter } from '../scim/filter/filter-parser';
import { auditView } from './views';
import { badRequest, bodyText, consoleLocals, handler, queryInteger, queryText } from './http';

export interface UsersDeps {
  users: UserService;
  organizations: OrganizationService;
  logger: Logger;
}

/** The columns the Users list sorts by, as SCIM attribute paths (the same ORDER BY the SCIM list uses). */
export const USER_SORTS: Record<string, AttributePath> = {
  userName: { attribute: 'userName' },
  displayName: { attribute: 'displayName' },
  familyName: { attribute: 'name', subAttribute: 'familyName' },
  created: { attribute: 'meta', subAttribute: 'created' },
  lastModified: { attribute: 'meta', subAttribute: 'lastModified' },
};

const roster = (attribute: string): AttributePath => ({ schema: ROSTER_USER_URN, attribute });
const is = (path: AttributePath, value: boolean): Filter => ({ kind: 'compare', path, op: 'eq', value });

/** The quick filters of the Users page, as SCIM filters. */
export const USER_STATES: Record<string, Filter> = {
  active: is({ attribute: 'active' }, true),
  disabled: is({ attribute: 'active' }, false),
  locked: is(roster('locked'), true),
  mfaResetRequired: is(roster('mfaResetRequired'), true),
  passwordResetRequired: is(roster('passwordResetRequired'), true),
};

const and = (filters: Filter[]): Filter | undefined =>
  filters.reduce<Filter | undefined>((left, right) => (left ? { kind: 'and', left, right } : right), undefined);

/**
 * The Users list query: a search text (userName, displayName or an email containing
 * it), a state, a SCIM filter, all AND'ed; a sort; a page. It runs on the SCIM list's
 * own engine (UserService.list: the repository's SQL filter and page).
 */
export function userListQuery(req: Request): ListQuery {
  const filters: Filter[] = [];
  const search = queryText(req, 'q', 256)?.trim();
  if (search) {
    const co = (attribute: string): Filter => ({ kind: 'compare', path: { attribute }, op: 'co', value: search });
    filters.push({ kind: 'or', left: { kind: 'or', left: co('userName'), right: co('displayName') }, right: co('emails') });
  }
  const state = queryText(req, 'state', 64);
  if (state) {
    const filter = USER_STATES[state];
    if (!filter) throw badRequest('console.state_invalid', `state must be one of ${Object.keys(USER_STATES).join(', ')}`);
    filters.push(filter);
  }
  const scimFilter = queryText(req, 'filter')?.trim();
  if (scimFilter) filters.push(parseFilter(scimFilter));
  const sortName = queryText(req, 'sortBy', 64) ?? 'userName';
  const sort = USER_SORTS[sortName];
  if (!sort) throw badRequest('console.sort_invalid', `sortBy must be one of ${Object.keys(USER_SORTS).join(', ')}`);
  const order = queryText(req, 'sortOrder', 16) ?? 'ascending';
  if (order !== 'ascending' && order !== 'descending') throw badRequest('console.sort_invalid', 'sortOrder must be ascending or descending');
  const filter = and(filters);
  return {
    ...(filter ? { filter } : {}),
    startIndex: queryInteger(req, 'startIndex', 1, 1, 1_000_000_000),
    count: queryInteger(req, 'count', 25, 1, 200),
    sortBy: { attribute: sort, descending: order === 'descending' },
    includeGroups: true,
  };
}

/** A user as the console's Users list shows one: the platform's columns. */
export function userRow(user: User, groups: { id: string; displayName: string }[] = []) {
  return {
    id: user.id,
    userName: user.userName,
    displayName: user.displayName ?? ([user.name.givenName, user.name.familyName].filter(Boolean).join(' ') || null),
    email: (user.emails.find((e) => e.primary) ?? user.emails[0])?.value ?? null,
    systemRole: user.systemRole,
    organizationRole: user.organizationRole,
    accountType: accountTypeOf(user.systemRole),
    active: user.active,
    locked: user.locked,
    mfaEnabled: user.mfaEnabled,
    mfaResetRequired: user.mfaResetRequired,
    passwordResetRequired: user.passwordResetRequired,
    groups: groups.map((g) => ({ id: g.id, displayName: g.displayName })),
  };
}

/** The actions of the user page, each the change it makes. */
const ACTIONS: Record<string, (user: User, req: Request) => Partial<UserFields>> = {
  disable: () => ({ active: false }),
  enable: () => ({ active: true }),
  clearLock: () => ({ locked: false }),
  requireMfaReset: () => ({ mfaResetRequired: true }),
  requirePasswordReset: () => ({ passwordResetRequired: true }),
  changeRoles: (user, req) => {
    const systemText = bodyText(req, 'systemRole', 64);
    const organizationText = bodyText(req, 'organizationRole', 64);
    const systemRole = systemText === undefined ? user.systemRole : systemRoleNamed(systemText);
    const organizationRole = organizationText === undefined ? user.organizationRole : organizationRoleNamed(organizationText);
    if (!systemRole) throw badRequest('console.role_invalid', `"${systemText}" is not a system role`);
    if (!organizationRole) throw badRequest('console.role_invalid', `"${organizationText}" is not an organization role`);
    return { systemRole, organizationRole };
  },
};

/** The actions the page offers for this user, each with the rule that forbids it (null: allowed). */
async function actionsFor(users: UserService, actor: Actor, user: User) {
  const offered: Record<string, Partial<UserFields>> = {
    [user.active ? 'disable' : 'enable']: { active: !user.active },
    requireMfaReset: { mfaResetRequired: true },
    requirePasswordReset: { passwordResetRequired: true },
  };
  if (user.locked) offered.clearLock = { locked: false };
  // Roles: whether the user may be edited at all (rules 1 and 2); the roles chosen are checked when sent.
  offered.changeRoles = {};
  return users.refusals(actor, user, offered);
}

export function addUserRoutes(router: Router, deps: UsersDeps): void {
  const { users, logger } = deps;
  router.get(
    '/orgs/:org/users',
    handler(logger, async (req, res) => {
      const actor = consoleLocals(res).consoleActor as Actor;
      const query = userListQuery(req);
      const page = await users.list(actor, query);
      return { total: page.total, startIndex: query.startIndex, count: query.count, users: page.items.map((u) => userRow(u, page.groups?.get(u.id))) };
    }),
  );
  router.get(
    '/orgs/:org/users/:id',
    handler(logger, async (req, res) => {
      const actor = consoleLocals(res).consoleActor as Actor;
      const user = await users.get(actor, String(req.params.id));
      const [groups, trail, actions] = await Promise.all([
        users.groupsOf(actor, [user.id]),
        deps.organizations.auditPage(actor, { targetId: user.id, limit: 50 }),
        actionsFor(users, actor, user),
      ]);
      return {
        user: {
          ...userRow(user, groups.get(user.id)),
          name: user.name,
          emails: user.emails.map((e) => ({ value: e.value ?? null, type: e.type ?? null, primary: e.primary === true })),
          externalId: user.externalId,
          title: user.title,
          timezone: user.timezone,
          createdAt: user.createdAt.toISOString(),
          updatedAt: user.updatedAt.toISOString(),
        },
        actions,
        audit: trail.map(auditView),
      };
    }),
  );
  router.post(
    '/orgs/:org/users/:id/actions/:action',
    handler(logger, async (req, res) => {
      const actor = consoleLocals(res).consoleActor as Actor;
      const make = ACTIONS[String(req.params.action)];
      if (!make) throw badRequest('console.action_unknown', `unknown action; one of ${Object.keys(ACTIONS).join(', ')}`);
      const current = await users.get(actor, String(req.params.id));
      const draft: UserDraft = { userName: current.userName, ...make(current, req) };
      const updated = await users.update(actor, current.id, draft, { method: 'patch' });
      const groups = await users.groupsOf(actor, [updated.id]);
      return { user: userRow(updated, groups.get(updated.id)) };
    }),
  );
}
