import type { Actor } from './actor';
import { rankOf, type DeploymentType } from './policy-rule-book';

/** How the policy's refusals word actors, roles and values. */

/** "an Operations Administrator", or for actors of a rank-1 system role "an Organization Administrator with system role User". */
export function describe(actor: Actor): string {
  if (rankOf(actor.systemRole, 0) > 1) return `${article(actor.systemRole)} ${actor.systemRole}`;
  return `${article(actor.organizationRole)} ${actor.organizationRole} with system role ${actor.systemRole}`;
}

/** Rule 1's refusal: what the actor's roles allow instead, and which roles manage users. */
export function mayOnlyRead(actor: Actor, deploymentType: DeploymentType, what: 'users' | 'groups' | 'provisioning tokens'): string {
  const accountsAdministrator =
    actor.systemRole === 'Accounts Administrator'
      ? `; Accounts Administrators manage users only on dedicated and on-premises instances, and this one is ${deploymentType}`
      : ', or Accounts Administrator on dedicated and on-premises instances';
  return (
    `a credential with system role ${actor.systemRole} and organization role ${actor.organizationRole} may only read ${what} ` +
    `(rule: who may manage users; it takes organization role Organization Administrator, ` +
    `or system role Administrator, Operations Administrator or Super User${accountsAdministrator})`
  );
}

function article(word: string): string {
  return /^[AEIOU]/i.test(word) ? 'an' : 'a';
}

/** "a, b and c" (or "a, b or c"). */
export function list(items: readonly string[], last = 'and'): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} ${last} ${items[items.length - 1]}`;
}

/** 3,600,000 */
export function grouped(n: number): string {
  return n.toLocaleString('en-US');
}

/** customTqlTimeout -> custom_tql_timeout, for error codes. */
export function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
