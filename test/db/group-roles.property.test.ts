import fc from 'fast-check';
import type { Actor } from '../../src/domain/actor';
import { DomainError } from '../../src/domain/errors';
import type { OrganizationRole, SystemRole } from '../../src/domain/roles';
import { startTestRoster, type TestRoster } from '../support/roster';

/**
 * Roles from groups against an independent oracle: for generated sequences of
 * membership changes, mapping changes, group deletions and direct role changes, every
 * user's effective roles (and the granting groups) in the database equal what a tiny
 * model computes, and each change is refused exactly when the model says it must be
 * (rule 5 on the result; a group-managed role changed directly), storing nothing.
 */

// The rule book's orders, written out here rather than imported (DOMAIN.md "Roles" and rule 14).
const SYSTEM_ORDER: SystemRole[] = [
  'Administrator', // rank 5
  'Operations Administrator', // 4
  'Accounts Administrator', // 3
  'Community Leader', // 2, listed first
  'Super User',
  'User', // 1, in the order the rule book lists them
  'Read Only User',
  'Api User',
  'Exchange Admin',
  'Taxii User',
];
const ORGANIZATION_ORDER: OrganizationRole[] = [
  'Organization Administrator',
  'Sharing User',
  'Standard User',
  'App Developer',
  'Read Only Commenter',
  'Read Only User',
];
/** Rule 5. */
const PAIRS: Partial<Record<SystemRole, OrganizationRole[]>> = {
  'Super User': ['Organization Administrator'],
  'Read Only User': ['Read Only User', 'Read Only Commenter'],
};

const USERS = 4;
const GROUPS = 4;

type Kind = 'system' | 'organization';
interface Mapping {
  system?: SystemRole;
  organization?: OrganizationRole;
}
interface Model {
  direct: { system: SystemRole; organization: OrganizationRole }[];
  groups: { members: Set<number>; mapping?: Mapping; deleted: boolean }[];
}
interface Effective {
  system: SystemRole;
  systemGroup: number | null;
  organization: OrganizationRole;
  organizationGroup: number | null;
}

type Op =
  | { op: 'add' | 'remove' | 'replace'; group: number; users: number[] }
  | { op: 'map'; group: number; mapping: Mapping }
  | { op: 'unmap' | 'delete'; group: number }
  | { op: 'direct'; user: number; kind: Kind; role: string };

/** Mostly a few roles, so that groups often grant the same role or roles of one rank (ties); sometimes any. */
const systemRole = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<SystemRole>('Community Leader', 'Super User', 'User', 'Api User') },
  { weight: 1, arbitrary: fc.constantFrom(...SYSTEM_ORDER) },
);
const organizationRole = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<OrganizationRole>('Organization Administrator', 'Sharing User', 'Read Only Commenter') },
  { weight: 1, arbitrary: fc.constantFrom(...ORGANIZATION_ORDER) },
);
const mapping = fc
  .record({ system: fc.option(systemRole, { nil: undefined }), organization: fc.option(organizationRole, { nil: undefined }) })
  .filter((m) => m.system !== undefined || m.organization !== undefined)
  .map((m) => Object.fromEntries(Object.entries(m).filter(([, v]) => v !== undefined)) as Mapping);
const group = fc.nat({ max: GROUPS - 1 });
const users = fc.uniqueArray(fc.nat({ max: USERS - 1 }), { maxLength: USERS });
const operation: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constantFrom('add' as const, 'remove' as const, 'replace' as const), group, users }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('map' as const), group, mapping }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('unmap' as const, 'delete' as const), group }) },
  {
    weight: 2,
    arbitrary: fc.oneof(
      fc.record({
        op: fc.constant('direct' as const),
        user: fc.nat({ max: USERS - 1 }),
        kind: fc.constant('system' as const),
        role: fc.constantFrom(...SYSTEM_ORDER),
      }),
      fc.record({
        op: fc.constant('direct' as const),
        user: fc.nat({ max: USERS - 1 }),
        kind: fc.constant('organization' as const),
        role: fc.constantFrom(...ORGANIZATION_ORDER),
      }),
    ),
  },
);

/** The oracle: the best grant per kind among the user's live mapped groups (ties: the lowest group id), else the direct role. */
function effective(model: Model, ids: string[], user: number): Effective {
  const best = (kind: Kind, order: string[]) => {
    let found: { role: string; group: number } | undefined;
    model.groups.forEach((g, i) => {
      const role = g.mapping?.[kind];
      if (g.deleted || role === undefined || !g.members.has(user)) return;
      const better = found === undefined || order.indexOf(role) < order.indexOf(found.role) || (role === found.role && ids[i] < ids[found.group]);
      if (better) found = { role, group: i };
    });
    return found;
  };
  const system = best('system', SYSTEM_ORDER);
  const organization = best('organization', ORGANIZATION_ORDER);
  return {
    system: (system?.role ?? model.direct[user].system) as SystemRole,
    systemGroup: system?.group ?? null,
    organization: (organization?.role ?? model.direct[user].organization) as OrganizationRole,
    organizationGroup: organization?.group ?? null,
  };
}

const clone = (model: Model): Model => ({
  direct: model.direct.map((d) => ({ ...d })),
  groups: model.groups.map((g) => ({ members: new Set(g.members), ...(g.mapping ? { mapping: { ...g.mapping } } : {}), deleted: g.deleted })),
});

const pairValid = (e: Effective) => PAIRS[e.system] === undefined || (PAIRS[e.system] as string[]).includes(e.organization);

/** The model after the operation, and the refusal code the operation must get (undefined: it succeeds). */
function expected(model: Model, ids: string[], op: Op): { next: Model; refusal?: string } {
  const next = clone(model);
  if (op.op === 'direct') {
    const now = effective(model, ids, op.user);
    const managed = op.kind === 'system' ? now.systemGroup !== null : now.organizationGroup !== null;
    if (managed) return now[op.kind] === op.role ? { next: model } : { next: model, refusal: 'user.role_from_group' };
    next.direct[op.user][op.kind] = op.role as never;
  } else {
    const g = next.groups[op.group];
    if (op.op === 'add') for (const u of op.users) g.members.add(u);
    if (op.op === 'remove') for (const u of op.users) g.members.delete(u);
    if (op.op === 'replace') g.members = new Set(op.users);
    if (op.op === 'map') g.mapping = op.mapping;
    if (op.op === 'unmap') {
      if (!g.mapping) return { next: model, refusal: 'group_role.not_found' };
      delete g.mapping;
    }
    if (op.op === 'delete') g.deleted = true;
  }
  for (let u = 0; u < USERS; u++) {
    const before = effective(model, ids, u);
    const after = effective(next, ids, u);
    const changed = before.system !== after.system || before.organization !== after.organization;
    if (changed && !pairValid(after)) return { next: model, refusal: 'user.role_pair_invalid' };
  }
  return { next };
}

let t: TestRoster;
let admin: Actor;
let serial = 0;

beforeAll(async () => {
  t = await startTestRoster();
});
afterAll(() => t.close());

async function run(op: Op, orgId: string, userIds: string[], userNames: string[], groupIds: string[], groupNames: string[]): Promise<void> {
  switch (op.op) {
    case 'add':
    case 'remove':
    case 'replace':
      await t.roster.groups.update(admin, groupIds[op.group], { membership: [{ kind: op.op, userIds: op.users.map((u) => userIds[u]) }] });
      return;
    case 'map':
      await t.roster.groupRoles.set(orgId, groupNames[op.group], { systemRole: op.mapping.system, organizationRole: op.mapping.organization });
      return;
    case 'unmap':
      await t.roster.groupRoles.remove(orgId, groupNames[op.group]);
      return;
    case 'delete':
      await t.roster.groups.delete(admin, groupIds[op.group]);
      return;
    case 'direct':
      await t.roster.users.update(admin, userIds[op.user], {
        userName: userNames[op.user],
        ...(op.kind === 'system' ? { systemRole: op.role as SystemRole } : { organizationRole: op.role as OrganizationRole }),
      });
  }
}

it("keeps every user's effective roles equal to the oracle's, through any sequence of changes", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 30 }), async (ops) => {
      serial += 1;
      const slug = `groles-prop-${serial}`;
      const org = await t.roster.organizations.create(slug);
      const { credential } = await t.roster.credentials.issue({ organizationId: org.id, systemRole: 'Administrator' });
      admin = { credentialId: credential.id, organizationId: org.id, systemRole: 'Administrator', organizationRole: 'Organization Administrator' };
      const userNames = Array.from({ length: USERS }, (_, i) => `u${i}-${serial}@example.com`);
      const userIds: string[] = [];
      for (const userName of userNames) userIds.push((await t.roster.users.create(admin, { userName })).id);
      const groupNames = Array.from({ length: GROUPS }, (_, i) => `g${i}`);
      const groupIds: string[] = [];
      for (const displayName of groupNames) groupIds.push((await t.roster.groups.create(admin, { displayName })).id);
      let model: Model = {
        direct: userIds.map(() => ({ system: 'User', organization: 'Standard User' })),
        groups: groupIds.map(() => ({ members: new Set<number>(), deleted: false })),
      };

      for (const op of ops) {
        if (op.op !== 'direct' && model.groups[op.group].deleted) continue;
        const { next, refusal } = expected(model, groupIds, op);
        let refused: string | undefined;
        try {
          await run(op, org.id, userIds, userNames, groupIds, groupNames);
        } catch (error) {
          if (!(error instanceof DomainError)) throw error;
          refused = error.code;
        }
        expect({ op, refused }).toEqual({ op, refused: refusal });
        model = next;

        const rows = await t.roster.database.pool.query<Record<string, string | null>>(
          `select id, system_role, organization_role, system_role_group_id, organization_role_group_id from users where organization_id = $1`,
          [org.id],
        );
        const stored = new Map(rows.rows.map((row) => [row.id as string, row]));
        for (let u = 0; u < USERS; u++) {
          const e = effective(model, groupIds, u);
          const row = stored.get(userIds[u]);
          expect({ op, user: u, roles: row }).toEqual({
            op,
            user: u,
            roles: {
              id: userIds[u],
              system_role: e.system,
              organization_role: e.organization,
              system_role_group_id: e.systemGroup === null ? null : groupIds[e.systemGroup],
              organization_role_group_id: e.organizationGroup === null ? null : groupIds[e.organizationGroup],
            },
          });
        }
      }
    }),
    { numRuns: 60 },
  );
}, 300_000);
