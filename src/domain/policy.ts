import type { Actor } from './actor';
import { DomainError, forbidden } from './errors';
import { mayManageUsers, newUserBaseline, rankOf, type PolicySettings, type UserChange, type UserState } from './policy-rule-book';
import { USER_CHANGE_RULES, type RuleContext } from './policy-user-rules';
import { describe, mayOnlyRead } from './policy-wording';
import type { SystemRole } from './roles';

/**
 * The one place that decides what an actor may do to users and user groups: the rules
 * of DOMAIN.md as one ordered table of pure checks, no I/O. Reads are scoped to the
 * actor's organization by every repository query (tenancy), so what an actor cannot
 * see is a 404, never a 403.
 *
 * Order: tenancy, then who may manage users at all (rule 1), then the role names the
 * change uses, then the authority rules (2, 3, 4, 6, 7, 8: 403), then the value rules
 * (5, 9, 11, API-only attributes, ranges: 400). The first rule a change breaks decides
 * the error, and its message names the rule.
 *
 * On update, a rule about an attribute applies only when the change touches that
 * attribute (stored against desired); on create, only when the new user's value differs
 * from what a new user gets anyway (newUserBaseline). So an unrelated edit is never
 * refused because of what is already stored, except by rule 2 (the user's current
 * system role) and tenancy.
 *
 * The rule book (constants, baseline, questions about an actor) is policy-rule-book.ts,
 * the rule table policy-user-rules.ts, the wording of refusals policy-wording.ts.
 */

export * from './policy-rule-book';
export { USER_CHANGE_RULES, type RuleContext, type UserRule } from './policy-user-rules';

/** Throws the DomainError of the first rule the change breaks; returns normally if allowed. */
export function authorizeUserChange(actor: Actor, settings: PolicySettings, change: UserChange): void {
  const current = change.action === 'create' ? undefined : change.current;
  const desired = change.action === 'delete' ? undefined : change.desired;
  const baseline = newUserBaseline(settings);
  const context: RuleContext = {
    actor,
    settings,
    action: change.action,
    current,
    desired,
    changes(attribute) {
      if (desired === undefined) return false;
      if (attribute === 'mfaEnabled' && desired.mfaEnabled === undefined) return false;
      const before = current !== undefined ? current[attribute] : (baseline as Partial<UserState>)[attribute];
      // On create, an attribute without a baseline (the roles, the ranged values) is set when given.
      if (current === undefined && !(attribute in baseline))
        return attribute === 'systemRole' || attribute === 'organizationRole' || desired[attribute] != null;
      return !sameValue(before, desired[attribute]);
    },
  };
  for (const { check } of USER_CHANGE_RULES) {
    const error = check(context);
    if (error) throw error;
  }
}

/** Groups: managing user groups needs the same authority as managing users (rule 1). */
export function authorizeGroupChange(actor: Actor, settings: PolicySettings, organizationId: string): void {
  if (organizationId !== actor.organizationId) throw new DomainError('not_found', 'group.not_found', 'Group not found');
  if (!mayManageUsers(actor, settings.deploymentType)) {
    throw forbidden(
      'group.manage_forbidden',
      `${mayOnlyRead(actor, settings.deploymentType, 'groups')}; managing user groups needs the same authority as managing users`,
    );
  }
}

/**
 * Provisioning tokens (the console's Connection page): issuing or revoking one needs
 * the authority to manage users (rule 1), since a token can; and a token may not be
 * given a system role above the actor's own (rule 3, no granting upward).
 */
export function authorizeCredentialChange(actor: Actor, settings: PolicySettings, organizationId: string, systemRole?: SystemRole): void {
  if (organizationId !== actor.organizationId) throw new DomainError('not_found', 'credential.not_found', 'Credential not found');
  if (!mayManageUsers(actor, settings.deploymentType)) {
    throw forbidden(
      'credential.manage_forbidden',
      `${mayOnlyRead(actor, settings.deploymentType, 'provisioning tokens')}; a provisioning token manages users, so issuing or revoking one needs that authority`,
    );
  }
  if (systemRole !== undefined && rankOf(systemRole) > rankOf(actor.systemRole)) {
    throw forbidden(
      'credential.grant_upward',
      `${describe(actor)} cannot issue a token with system role ${systemRole}, which ranks above its own (rule: no granting upward)`,
    );
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || (a == null && b == null);
}
