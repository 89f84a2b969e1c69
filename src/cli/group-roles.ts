import type { RoleChange } from '../domain/group-role';
import { required, type Handler, type Io } from './command';
import { table } from './format';

/** One line on stderr per user whose roles the change moved (stdout keeps the result). */
function report(changes: RoleChange[], io: Io): void {
  for (const { before, after } of changes) {
    const moves: string[] = [];
    if (before.systemRole !== after.systemRole) moves.push(`system role ${before.systemRole} -> ${after.systemRole}`);
    if (before.organizationRole !== after.organizationRole) moves.push(`organization role ${before.organizationRole} -> ${after.organizationRole}`);
    if (moves.length > 0) io.err(`${after.userName}: ${moves.join(', ')}`);
  }
}

/** group-roles set --org <slug> --group "<displayName>" [--org-role R] [--system-role R]: prints how many users' roles changed. */
export const groupRolesSet: Handler = async (roster, _args, flags, io) => {
  const organization = await roster.organizations.bySlug(required(flags, 'org'));
  const changes = await roster.groupRoles.set(organization.id, required(flags, 'group'), {
    ...(typeof flags['org-role'] === 'string' ? { organizationRole: flags['org-role'] } : {}),
    ...(typeof flags['system-role'] === 'string' ? { systemRole: flags['system-role'] } : {}),
  });
  report(changes, io);
  io.out(`${changes.length} user(s) changed`);
};

/** group-roles list --org <slug> [--json] */
export const groupRolesList: Handler = async (roster, _args, flags, io) => {
  const organization = await roster.organizations.bySlug(required(flags, 'org'));
  const rows = (await roster.groupRoles.list(organization.id)).map((m) => ({
    group: m.groupDisplayName,
    groupId: m.groupId,
    organizationRole: m.organizationRole,
    systemRole: m.systemRole,
  }));
  io.out(flags.json ? JSON.stringify(rows, null, 2) : table(rows, ['group', 'groupId', 'organizationRole', 'systemRole']));
};

/** group-roles remove --org <slug> --group "<displayName>": prints how many users' roles changed. */
export const groupRolesRemove: Handler = async (roster, _args, flags, io) => {
  const organization = await roster.organizations.bySlug(required(flags, 'org'));
  const changes = await roster.groupRoles.remove(organization.id, required(flags, 'group'));
  report(changes, io);
  io.out(`${changes.length} user(s) changed`);
};
