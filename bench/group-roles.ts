/**
 * Scenario 12, roles from groups (#15 item 6). The big group (100,000 members at the
 * default seed) and a 10-member group:
 * - 12a-c: PATCH add + remove one member (Okta's form), the big group unmapped, then
 *   mapped, then the small group mapped: adding a member to a mapped group recomputes
 *   that member only, so the three should cost about the same;
 * - 12d, 12e: setting, then removing, a mapping on the big group through the operator's
 *   service (what `roster group-roles set` runs, in this process): one transaction that
 *   recomputes every member in one UPDATE, with its audit events and provisioning events.
 *   Target: under 5 s for 100,000 members at 1,000,000 users.
 */
import type autocannon from 'autocannon';
import pg from 'pg';
import { GROUP_ROLE_PRECEDENCE } from '../src/domain/group-role';
import { GroupRoleService } from '../src/domain/group-role.service';
import { GroupRoleSqlRepository } from '../src/orm/group-role.repository';
import { Sql } from '../src/orm/sql';
import { EventSequencer } from '../src/orm/event-sequencer';
import { OrmUnitOfWork } from '../src/orm/unit-of-work';
import { BENCH_SECRET, BIG_GROUP_NAME, SMALL_GROUP_SIZE, SPARE_USERS, groupId, groupName, resetSpareMemberships, spareId } from './database';
import { measure, type Context, type Row } from './scenarios';

const SCIM_JSON = 'application/scim+json';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ROLE = 'Sharing User';

const headers = (): Record<string, string> => ({ authorization: `Bearer ${BENCH_SECRET}`, accept: SCIM_JSON, 'content-type': SCIM_JSON });
const patch = (op: 'add' | 'remove', user: string) =>
  JSON.stringify({
    schemas: [PATCH_OP],
    Operations: op === 'add' ? [{ op, path: 'members', value: [{ value: user }] }] : [{ op, path: `members[value eq "${user}"]` }],
  });

export async function scenario12(ctx: Context): Promise<Row[]> {
  const pool = new pg.Pool({ connectionString: ctx.databaseUrl, max: 2 });
  const service = new GroupRoleService(new OrmUnitOfWork(pool));
  const repository = new GroupRoleSqlRepository(Sql.onPool(pool));
  const spares = Array.from({ length: SPARE_USERS }, (_, i) => spareId(i + 1));
  const organizationId = ctx.seed.organizationId;
  // The spare users leave every group, and (the memberships deleted behind Roster's back) get their direct roles again.
  const reset = async () => {
    await resetSpareMemberships(ctx.databaseUrl);
    await repository.recompute(organizationId, { userIds: spares }, GROUP_ROLE_PRECEDENCE);
  };
  const rows: Row[] = [];

  const memberLoad = async (key: string, group: string, label: string) => {
    const path = `/scim/v2/Groups/${group}`;
    const load = () => {
      let clients = 0;
      return {
        setupClient: (client: autocannon.Client) => {
          const user = spareId((clients++ % SPARE_USERS) + 1);
          client.setRequests([
            { method: 'PATCH', path, headers: headers(), body: patch('add', user) },
            { method: 'PATCH', path, headers: headers(), body: patch('remove', user) },
          ]);
        },
      };
    };
    await reset();
    rows.push(
      await measure(ctx, { key, scenario: 12, label: `PATCH /Groups/{id} add + remove one member, ${label}`, problems: [] }, ctx.rosterUrl, load, reset),
    );
  };

  const timedMapping = async (key: string, label: string, change: () => Promise<{ length: number }>) => {
    const members = (await pool.query<{ n: number }>('select count(*)::int as n from group_members where group_id = $1', [ctx.seed.bigGroupId])).rows[0].n;
    ctx.monitor.beginWindow();
    const started = performance.now();
    const changes = await change();
    const ms = Math.round(performance.now() - started);
    const window = ctx.monitor.endWindow();
    const problems = changes.length === members ? [] : [`${changes.length} users' roles changed, expected ${members}`];
    const done: Row = {
      key,
      scenario: 12,
      label,
      unit: 'users/s',
      rate: changes.length / Math.max(ms / 1000, 0.001),
      p50: ms,
      p99: ms,
      non2xx: 0,
      errors: 0,
      peakRss: window.peakRss,
      cpu: window.cpu,
      problems,
      statusCounts: {},
      extra: `${changes.length.toLocaleString('en-US')} users' roles changed in one transaction, ${(ms / 1000).toFixed(2)} s`,
    };
    ctx.log(`  ${key.padEnd(9)} ${changes.length} users in ${ms} ms`);
    rows.push(done);
  };

  try {
    const big = `${ctx.seed.bigGroupSize.toLocaleString('en-US')}-member group`;
    await memberLoad('12a', ctx.seed.bigGroupId, `${big}, unmapped`);
    await timedMapping('12d', `roster group-roles set on the ${big} (organization role ${ROLE})`, () =>
      service.set(organizationId, BIG_GROUP_NAME, { organizationRole: ROLE }),
    );
    await memberLoad('12b', ctx.seed.bigGroupId, `${big}, mapped (each added member gets ${ROLE})`);
    await service.set(organizationId, groupName(1), { organizationRole: ROLE });
    await memberLoad('12c', groupId(1), `${SMALL_GROUP_SIZE}-member group, mapped`);
    await service.remove(organizationId, groupName(1));
    await timedMapping('12e', `roster group-roles remove on the ${big}`, () => service.remove(organizationId, BIG_GROUP_NAME));
  } finally {
    // The events the mapping changes queued are moved before the scenario ends (as a CLI's roster.close() does).
    await EventSequencer.of(pool).close();
    await pool.end();
  }
  return rows.sort((a, b) => a.key.localeCompare(b.key));
}
