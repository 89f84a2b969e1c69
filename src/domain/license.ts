import { DomainError, forbidden, notFound } from './errors';
import type { OrganizationLicense } from './organization';
import type { AccountCounts, Repositories } from './ports';
import { accountTypeOf, type SystemRole } from './roles';

const LIMITS = {
  standard: ['standardUserLimit', 'standard users'],
  api: ['apiUserLimit', 'API users'],
  taxii: ['taxiiUserLimit', 'TAXII users'],
  readOnly: ['readOnlyUserLimit', 'read-only users'],
} as const;

/**
 * Rule 10: a user may be created, or re-typed, into an account type only while the
 * organization's license has room for one more of that type. `counts` are the users
 * of the organization now, not counting the user being changed in its new type.
 * Read-only accounts with system role Read Only User do not count when the license
 * makes them free; API users need the API-user license flag.
 */
export function assertWithinLicense(license: OrganizationLicense, counts: AccountCounts, systemRole: SystemRole, slug: string): void {
  const type = accountTypeOf(systemRole);
  if (type === 'api' && !license.apiUsersAllowed) {
    throw forbidden('license.api_users_not_allowed', `the license of organization ${slug} does not allow API users`);
  }
  if (type === 'readOnly' && license.readOnlyUsersFree) return; // system role Read Only User, free
  const [limitKey, label] = LIMITS[type];
  const limit = license[limitKey];
  if (limit === null) return;
  if (counts[type] + 1 > limit) {
    throw forbidden(`license.${type}_limit_reached`, `organization ${slug} has reached its license limit of ${limit} ${label}`);
  }
}

/**
 * How a license check holds the organization's license lock: `shared` (many checks at
 * once, enough while the organization is far from its limit) or `exclusive` (one at a
 * time, exact at the last seats).
 */
export type LicenseLockMode = 'shared' | 'exclusive';

/** A shared license check found the organization near its limit: redo the unit of work exclusively. */
export class NearLicenseLimit extends Error {
  constructor() {
    super('near the license limit: the check must hold the license lock exclusively');
  }
}

/**
 * Runs a unit of work that checks the license, shared first; once more, exclusively,
 * if the shared check found the organization near its limit.
 */
export async function withLicenseCheck<T>(work: (mode: LicenseLockMode) => Promise<T>): Promise<T> {
  try {
    return await work('shared');
  } catch (error) {
    if (!(error instanceof NearLicenseLimit)) throw error;
    return work('exclusive');
  }
}

/**
 * Rule 10, so that concurrent creates never take more seats than the license has. Only
 * the account type being added is read, from counts kept as users come and go: the
 * check costs the same for ten users as for a million.
 *
 * Far from the limit, checks hold the license lock shared and run side by side: each
 * sees the committed users, and at most `unseenAtMost` more (one per database session)
 * can be in transactions beside it, so `users + unseenAtMost < limit` leaves room for
 * all of them. Near the limit (or when a shared check would refuse), the check holds
 * the lock exclusively: it waits for every shared holder to commit, counts exactly and
 * lets the next check wait for it. A shared check that finds itself near the limit
 * throws NearLicenseLimit (it cannot upgrade its lock without risking a deadlock with
 * another such check); withLicenseCheck redoes the work exclusively.
 */
export async function checkLicense(r: Repositories, organizationId: string, systemRole: SystemRole, mode: LicenseLockMode): Promise<void> {
  const type = accountTypeOf(systemRole);
  const counts: AccountCounts = { standard: 0, api: 0, taxii: 0, readOnly: 0 };
  if (mode === 'shared') {
    // One round trip, and an organization without a limit for this type stops here.
    const shared = await r.organizations.shareLicense(organizationId, type);
    if (!shared) throw notFound('Organization', organizationId);
    counts[type] = shared.users + shared.unseenAtMost;
    try {
      assertWithinLicense(shared.license, counts, systemRole, organizationId);
      return;
    } catch (error) {
      if (error instanceof DomainError) throw new NearLicenseLimit();
      throw error;
    }
  }
  const locked = await r.organizations.lockLicense(organizationId);
  if (!locked) throw notFound('Organization', organizationId);
  const org = await r.organizations.findById(organizationId);
  counts[type] = await r.users.countOfAccountType(organizationId, type);
  assertWithinLicense(locked, counts, systemRole, org?.slug ?? organizationId);
}

/**
 * Rule 10 for a change already written in this transaction (roles recomputed from
 * groups, which may re-type many users at once): holding the license lock exclusively,
 * the organization's users of the account type `systemRole` implies, counted now with
 * the change, must be within the limit.
 */
export async function assertLicenseHolds(r: Repositories, organizationId: string, systemRole: SystemRole): Promise<void> {
  const type = accountTypeOf(systemRole);
  const locked = await r.organizations.lockLicense(organizationId);
  if (!locked) throw notFound('Organization', organizationId);
  const org = await r.organizations.findById(organizationId);
  const counts: AccountCounts = { standard: 0, api: 0, taxii: 0, readOnly: 0 };
  // assertWithinLicense asks whether one more fits: the changed users are already counted.
  counts[type] = (await r.users.countOfAccountType(organizationId, type)) - 1;
  assertWithinLicense(locked, counts, systemRole, org?.slug ?? organizationId);
}
