import type { ChangeJournal } from './request-log';
import type { OrganizationRole, SystemRole } from './roles';

/**
 * Who is calling: a provisioning credential of one organization, acting as an API
 * user of that organization with its own system and organization roles.
 */
export interface Actor {
  credentialId: string;
  organizationId: string;
  systemRole: SystemRole;
  organizationRole: OrganizationRole;
  /** The id of the request acting (the SCIM layer sets it); provisioning events carry it as `txn`. */
  requestId?: string;
  /** Where the services report what a committed change did (the request log's entry for this request or Bulk operation). */
  journal?: ChangeJournal;
}
