import type { ChangeJournal } from './request-log';
import type { OrganizationRole, SystemRole } from './roles';

/**
 * Who is calling: a provisioning credential (or a console administrator, src/console/) of one organization, acting as an API
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
  /**
   * Set when a console administrator acts (src/console/): `credentialId` is then the
   * administrator's id, and the audit trail names the administrator, not a credential.
   */
  console?: { adminId: string; email: string };
}

/** Who acted, in the audit trail's words: `credential <id>`, or `admin <email>` for a console administrator. */
export function actorName(actor: Actor): string {
  return actor.console ? `admin ${actor.console.email}` : `credential ${actor.credentialId}`;
}

/** The credential id the audit trail records: none when a console administrator acted. */
export function actorCredentialId(actor: Actor): string | null {
  return actor.console ? null : actor.credentialId;
}
