import { DomainError } from './errors';
import type { PasswordHasher, UnitOfWork } from './ports';

/** What the services that change users and groups are built on. */
export interface ServiceDeps {
  uow: UnitOfWork;
  passwords: PasswordHasher;
}

/** A precondition on the stored version (If-Match); undefined means none. */
export type ExpectedVersion = number | undefined;

/**
 * The versions a change to one stored resource is conditioned on. Both are checked
 * on the locked row, in this order.
 */
export interface VersionConditions {
  /** The client's If-Match: another stored version refuses the change (412). */
  expectedVersion?: ExpectedVersion;
  /**
   * The version the draft was worked out from (a PATCH applied to the resource as read).
   * Another stored version means the draft is stale: StaleDraft, and the caller works it
   * out again from the resource as it is now. Undefined: the draft replaces whatever is
   * stored (PUT, last writer wins), or changes nothing that depends on it.
   */
  basedOn?: number;
}

export function assertVersion(actual: number, expected: ExpectedVersion): void {
  if (expected !== undefined && actual !== expected) {
    throw new DomainError('precondition_failed', 'version.mismatch', `the resource has changed: its version is ${actual}, the request expected ${expected}`);
  }
}

/**
 * The stored resource changed after the draft was worked out from it: the caller reads
 * it again, works the draft out again and retries. Nothing was stored. Should it reach a
 * client, it is a 503: trying again is the answer.
 */
export class StaleDraft extends DomainError {
  constructor(
    readonly stored: number,
    readonly basedOn: number,
  ) {
    super('unavailable', 'version.stale_draft', 'the resource changed while this change was worked out; try again');
    this.name = 'StaleDraft';
  }
}

export function assertBasedOn(actual: number, basedOn: number | undefined): void {
  if (basedOn !== undefined && actual !== basedOn) throw new StaleDraft(actual, basedOn);
}

/** Checks both conditions, the client's precondition first. */
export function assertVersions(actual: number, conditions: VersionConditions): void {
  assertVersion(actual, conditions.expectedVersion);
  assertBasedOn(actual, conditions.basedOn);
}
