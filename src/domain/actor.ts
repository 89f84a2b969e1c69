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
}
