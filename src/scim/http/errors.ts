import SCIMMY from 'scimmy';
import { DomainError, type DomainErrorKind } from '../../domain/errors';

export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** The detail error keywords of RFC 7644 section 3.12 (Table 9), and RFC 9865's `invalidCursor`. */
export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive'
  | 'invalidCursor';

/**
 * An error as RFC 7644 section 3.12 shows it, plus a stable dotted `code`
 * (`patch.op_invalid`, `user.act_upward`) that names the refusal in the request log.
 * The code is never sent: the body is `schemas`, `status`, `scimType` and `detail`.
 * Build one with the constructors below, each of which fixes the status.
 */
export class ScimError extends Error {
  constructor(
    readonly status: number,
    readonly scimType: ScimType | undefined,
    readonly code: string,
    readonly detail: string,
    /** Sent as `Retry-After` (seconds) with the error response. */
    readonly retryAfterSeconds?: number,
  ) {
    super(detail);
    this.name = 'ScimError';
  }

  toJSON() {
    return {
      schemas: [ERROR_SCHEMA],
      status: String(this.status),
      ...(this.scimType ? { scimType: this.scimType } : {}),
      detail: this.detail,
    };
  }
}

/** A constructor of one kind of refusal: the status (and scimType) are fixed, the site gives code and detail. */
export type ScimErrorConstructor = (code: string, detail: string) => ScimError;

const withType =
  (status: number, scimType: ScimType): ScimErrorConstructor =>
  (code, detail) =>
    new ScimError(status, scimType, code, detail);
const withStatus =
  (status: number): ScimErrorConstructor =>
  (code, detail) =>
    new ScimError(status, undefined, code, detail);

// One constructor per scimType. RFC 7644 defines the keywords for 400 responses;
// `uniqueness` goes with 409, as the RFC's examples (section 3.3) show.
export const invalidFilter = withType(400, 'invalidFilter');
export const tooMany = withType(400, 'tooMany');
export const uniqueness = withType(409, 'uniqueness');
export const mutability = withType(400, 'mutability');
export const invalidSyntax = withType(400, 'invalidSyntax');
export const invalidPath = withType(400, 'invalidPath');
export const noTarget = withType(400, 'noTarget');
export const invalidValue = withType(400, 'invalidValue');
export const invalidVers = withType(400, 'invalidVers');
export const sensitive = withType(400, 'sensitive');
/** RFC 9865 section 5: a cursor the server did not issue, or issued for another query. */
export const invalidCursor = withType(400, 'invalidCursor');

// The refusals without a scimType.
export const unauthorized = withStatus(401);
export const forbidden = withStatus(403);
export const notFound = withStatus(404);
/** 409 without a scimType: a conflict that is not a taken value (e.g. a bulkId that cannot be resolved). */
export const conflict = withStatus(409);
export const preconditionFailed = withStatus(412);
export const payloadTooLarge = withStatus(413);
export const unsupportedMediaType = withStatus(415);
export const notImplemented = withStatus(501);
export const internalError = withStatus(500);

/** 429, sent with an integer `Retry-After` of `waitSeconds`. */
export const tooManyRequests = (code: string, detail: string, waitSeconds: number) => new ScimError(429, undefined, code, detail, waitSeconds);

/** What a 503 asks the client to wait before it retries. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 1;

/** 503: something passing (the database, the password hashing queue); clients back off on `Retry-After`. */
export const unavailable = (code: string, detail: string) => new ScimError(503, undefined, code, detail, UNAVAILABLE_RETRY_AFTER_SECONDS);

/** The one table from domain error kinds to SCIM errors; the domain error's code and message carry over. */
export const BY_KIND: Readonly<Record<DomainErrorKind, ScimErrorConstructor>> = {
  invalid_value: invalidValue,
  invalid_filter: invalidFilter,
  invalid_syntax: invalidSyntax,
  invalid_path: invalidPath,
  no_target: noTarget,
  mutability,
  uniqueness,
  forbidden,
  not_found: notFound,
  precondition_failed: preconditionFailed,
  too_many: tooMany,
  unavailable,
};

export const routeNotFound = (method: string, path: string) => notFound('request.route_unknown', `no SCIM endpoint answers ${method} ${path}`);

/**
 * scimmy's own error class. scimmy exports it as `Types.Error` (its typings call it
 * `Types.SCIMError`): an error scimmy raises is recognised by `instanceof`, here only.
 */
const ScimmyError = SCIMMY.Types.Error;

/**
 * Any error, as a SCIM error. Domain errors go through the table; scimmy's own
 * SCIMError keeps its status and scimType. Anything else is a 500 whose detail carries only the request id.
 */
export function toScimError(error: unknown, requestId: string): ScimError {
  if (error instanceof ScimError) return error;
  if (error instanceof DomainError) return BY_KIND[error.kind](error.code, error.message);
  if (error instanceof ScimmyError && typeof error.status === 'number' && error.status >= 400 && error.status < 500) {
    return new ScimError(error.status, (error.scimType || undefined) as ScimType | undefined, 'scimmy.refused', error.message);
  }
  return internalError('internal.error', `internal error; quote request id ${requestId} when reporting it`);
}

/**
 * Runs scimmy's schema coercion: it throws a plain TypeError whose message names the
 * attribute at fault, which is the client's bad value, so it becomes a 400 here
 * (`code` names the resource, e.g. `user.schema_invalid`).
 */
export function validated<T>(code: string, coerce: () => T): T {
  try {
    return coerce();
  } catch (error) {
    if (error instanceof ScimError || error instanceof ScimmyError) throw error;
    if (error instanceof TypeError) throw invalidValue(code, error.message);
    throw error;
  }
}
