import type { OrganizationLicense } from '../domain/organization';
import { UsageError, type Flags, type Handler } from './command';
import { table } from './format';

/** org create <slug> [--name "Display name"] */
export const orgCreate: Handler = async (roster, [slug], flags, io) => {
  const org = await roster.organizations.create(slug, flags.name as string | undefined);
  io.out(org.id);
};

/** org list [--json] */
export const orgList: Handler = async (roster, _args, flags, io) => {
  const orgs = (await roster.organizations.list()).map((o) => ({ id: o.id, slug: o.slug, name: o.name, createdAt: o.createdAt.toISOString() }));
  io.out(flags.json ? JSON.stringify(orgs, null, 2) : table(orgs, ['slug', 'name', 'id', 'createdAt']));
};

/** org limits <slug> [--standard N] [--api N] [--taxii N] [--read-only N|free] [--api-users on|off] */
export const orgLimits: Handler = async (roster, [slug], flags, io) => {
  const license = await roster.organizations.setLicense(slug, licenseChange(flags));
  io.out(JSON.stringify(license));
};

/** The license change `org limits` asks for; at least one limit. */
function licenseChange(flags: Flags): Partial<OrganizationLicense> {
  const change: Partial<OrganizationLicense> = {};
  const limit = (name: string): number | null | undefined => {
    const value = flags[name];
    if (value === undefined) return undefined;
    if (value === 'unlimited') return null;
    if (typeof value !== 'string' || !/^\d+$/.test(value)) throw new UsageError(`--${name} takes a whole number or "unlimited"`);
    return Number(value);
  };
  change.standardUserLimit = limit('standard');
  change.apiUserLimit = limit('api');
  change.taxiiUserLimit = limit('taxii');
  if (flags['read-only'] === 'free') change.readOnlyUsersFree = true;
  else if (flags['read-only'] !== undefined) {
    change.readOnlyUserLimit = limit('read-only');
    change.readOnlyUsersFree = false;
  }
  const apiUsers = flags['api-users'];
  if (apiUsers !== undefined) {
    if (apiUsers !== 'on' && apiUsers !== 'off') throw new UsageError('--api-users takes on or off');
    change.apiUsersAllowed = apiUsers === 'on';
  }
  if (Object.values(change).every((v) => v === undefined)) throw new UsageError('org limits needs at least one limit to set');
  return change;
}

/** org show <slug> [--json] */
export const orgShow: Handler = async (roster, [slug], flags, io) => {
  const { organization, license, counts } = await roster.organizations.show(slug);
  if (flags.json) return io.out(JSON.stringify({ ...organization, license, counts }, null, 2));
  const rows = (
    [
      ['standard', license.standardUserLimit, counts.standard],
      ['api', license.apiUserLimit, counts.api],
      ['taxii', license.taxiiUserLimit, counts.taxii],
      ['readOnly', license.readOnlyUsersFree ? 'free' : license.readOnlyUserLimit, counts.readOnly],
    ] as const
  ).map(([type, limit, used]) => ({ type, limit: limit ?? 'unlimited', used }));
  io.out(
    `${organization.slug} (${organization.name}) ${organization.id}\nAPI users allowed: ${license.apiUsersAllowed ? 'yes' : 'no'}\n${table(rows, ['type', 'limit', 'used'])}`,
  );
};
