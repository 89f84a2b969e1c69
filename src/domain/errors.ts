/**
 * One error vocabulary for everything below the SCIM adapter. Each error has a kind
 * (which the adapter maps to an HTTP status and a scimType in one table), a stable
 * dotted code and a sentence a person can act on. Nothing here knows about HTTP.
 */
export type DomainErrorKind =
  | 'invalid_value' // a value breaks a rule of the schema or the domain
  | 'invalid_filter' // a filter that does not parse or names an unknown attribute
  | 'invalid_syntax' // a request body that is not what the protocol expects
  | 'invalid_path' // a PATCH path that does not resolve
  | 'no_target' // a PATCH path that selects nothing where something is needed
  | 'mutability' // an attempt to change a read-only or immutable attribute
  | 'uniqueness' // a unique value already taken
  | 'forbidden' // the actor lacks the authority
  | 'not_found' // no such resource for this actor
  | 'precondition_failed' // a version precondition did not hold
  | 'too_many' // a request or a result beyond a limit
  | 'unavailable'; // a dependency (the database) does not answer

export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const invalidValue = (code: string, message: string) => new DomainError('invalid_value', code, message);
/** A filter refused; `code` names the check (`filter.too_long`, `filter.invalid_date`). */
export const invalidFilter = (message: string, code: string) => new DomainError('invalid_filter', code, message);
/** Not found, without echoing the id: a 404 must tell nothing about other organizations. */
export const notFound = (what: string, _id: string) => new DomainError('not_found', `${what.toLowerCase()}.not_found`, `${what} not found`);
export const uniqueness = (code: string, message: string) => new DomainError('uniqueness', code, message);
export const forbidden = (code: string, message: string) => new DomainError('forbidden', code, message);
