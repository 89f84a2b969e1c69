import { DomainError, type DomainErrorKind } from '../domain/errors';

export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** An error as RFC 7644 section 3.12 shows it. */
export class ScimError extends Error {
  constructor(
    readonly status: number,
    readonly scimType: string | undefined,
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

/** The one table from domain error kinds to HTTP status and scimType. */
const BY_KIND: Record<DomainErrorKind, [number, string | undefined]> = {
  invalid_value: [400, 'invalidValue'],
  invalid_filter: [400, 'invalidFilter'],
  invalid_syntax: [400, 'invalidSyntax'],
  invalid_path: [400, 'invalidPath'],
  no_target: [400, 'noTarget'],
  mutability: [400, 'mutability'],
  uniqueness: [409, 'uniqueness'],
  forbidden: [403, undefined],
  not_found: [404, undefined],
  precondition_failed: [412, undefined],
  too_many: [400, 'tooMany'],
  unavailable: [503, undefined],
};

/** What a 503 asks the client to wait before it retries. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 1;

export const badRequest = (scimType: string, detail: string) => new ScimError(400, scimType, detail);
export const unauthorized = () => new ScimError(401, undefined, 'a valid bearer token is required');
export const routeNotFound = (method: string, path: string) =>
  new ScimError(404, undefined, `no SCIM endpoint answers ${method} ${path}`);

interface ScimmyErrorLike {
  status?: number;
  scimType?: string;
  message: string;
}

/**
 * Any error, as a SCIM error. Domain errors go through the table; scimmy's own
 * SCIMError keeps its status and scimType. Anything else is a 500 whose detail carries only the request id.
 */
export function toScimError(error: unknown, requestId: string): ScimError {
  if (error instanceof ScimError) return error;
  if (error instanceof DomainError) {
    const [status, scimType] = BY_KIND[error.kind];
    // Unavailable is passing (the database, the password hashing queue): clients back off on Retry-After.
    return new ScimError(status, scimType, error.message, error.kind === 'unavailable' ? UNAVAILABLE_RETRY_AFTER_SECONDS : undefined);
  }
  const e = error as ScimmyErrorLike;
  if (e && (e as Error).name === 'SCIMError' && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return new ScimError(e.status, e.scimType, e.message);
  }
  return new ScimError(500, undefined, `internal error; quote request id ${requestId} when reporting it`);
}

/**
 * Runs scimmy's schema coercion: it throws a plain TypeError whose message names the
 * attribute at fault, which is the client's bad value, so it becomes a 400 here.
 */
export function validated<T>(coerce: () => T): T {
  try {
    return coerce();
  } catch (error) {
    if (error instanceof ScimError || (error as Error)?.name === 'SCIMError') throw error;
    if (error instanceof TypeError) throw new ScimError(400, 'invalidValue', error.message);
    throw error;
  }
}
