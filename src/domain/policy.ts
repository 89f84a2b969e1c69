import type { Actor } from './actor';
import { forbidden } from './errors';

/**
 * The one place that decides what an actor may do. Reads are scoped to the actor's
 * organization by every repository query (tenancy), so what an actor cannot see is
 * a 404, never a 403. The rules are those of DOMAIN.md.
 */
export type Action = 'read' | 'create' | 'update' | 'delete';
export type Subject = 'user' | 'group';

const USER_MANAGING_SYSTEM_ROLES = new Set(['Administrator', 'Operations Administrator', 'Super User']);

/** Rule 1: who may manage users (and so user groups) of the actor's organization. */
export function mayManageUsers(actor: Actor, deploymentType: DeploymentType): boolean {
  if (actor.organizationRole === 'Organization Administrator') return true;
  if (USER_MANAGING_SYSTEM_ROLES.has(actor.systemRole)) return true;
  return actor.systemRole === 'Accounts Administrator' && deploymentType !== 'cloud';
}

export type DeploymentType = 'cloud' | 'dedicated' | 'onprem';

export function assertMay(actor: Actor, action: Action, subject: Subject, deploymentType: DeploymentType): void {
  if (action === 'read') return;
  if (!mayManageUsers(actor, deploymentType)) {
    throw forbidden(
      `${subject}.${action}.forbidden`,
      `a credential with system role ${actor.systemRole} and organization role ${actor.organizationRole} ` +
        `may only read ${subject}s: managing users needs the Organization Administrator organization role ` +
        `or the Administrator, Operations Administrator or Super User system role`,
    );
  }
}
