import { forbidden } from './errors';
import type { OrganizationLicense } from './organization';
import type { AccountCounts } from './ports';
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
