import type { ConsoleAdmin } from '../domain/console-admins';
import { UsageError, type Handler } from './command';
import { table } from './format';

/**
 * admin create <email> [--org <slug>] [--system-role R] [--org-role R]: the password
 * is read from stdin (its first line), never from the command line; prints the id.
 */
export const adminCreate: Handler = async (roster, [email], flags, io) => {
  if (!io.input) throw new UsageError('admin create reads the password from stdin');
  const password = (await io.input()).split(/\r?\n/)[0];
  if (password === '') throw new UsageError('admin create reads the password from stdin: give it on the first line');
  const org = typeof flags.org === 'string' ? await roster.organizations.bySlug(flags.org) : undefined;
  const admin = await roster.consoleAdmins.create({
    email,
    password,
    organizationId: org?.id ?? null,
    systemRole: flags['system-role'] as string | undefined,
    organizationRole: flags['org-role'] as string | undefined,
  });
  io.out(admin.id);
  io.err(`console administrator ${admin.email} created (${org ? `organization ${org.slug}` : 'instance administrator'}); sign in at /admin/`);
};

/** admin list [--json] */
export const adminList: Handler = async (roster, _args, flags, io) => {
  const slugs = new Map((await roster.organizations.list()).map((o) => [o.id, o.slug]));
  const rows = (await roster.consoleAdmins.list()).map((a) => adminRow(a, slugs));
  io.out(
    flags.json
      ? JSON.stringify(rows, null, 2)
      : table(rows, ['id', 'email', 'organization', 'systemRole', 'organizationRole', 'createdAt', 'lastSignInAt', 'disabledAt']),
  );
};

/** admin disable <email>: the administrator can no longer sign in, and its sessions end. */
export const adminDisable: Handler = async (roster, [email], _flags, io) => {
  const admin = await roster.consoleAdmins.disable(email);
  io.out(admin.id);
  io.err(`disabled ${admin.email}; its sessions have ended`);
};

function adminRow(a: ConsoleAdmin, slugs: Map<string, string>) {
  return {
    id: a.id,
    email: a.email,
    /** null: an instance administrator (every organization). */
    organization: a.organizationId === null ? null : (slugs.get(a.organizationId) ?? a.organizationId),
    systemRole: a.systemRole,
    organizationRole: a.organizationRole,
    createdAt: a.createdAt.toISOString(),
    lastSignInAt: a.lastSignInAt?.toISOString() ?? null,
    disabledAt: a.disabledAt?.toISOString() ?? null,
  };
}
