import { DomainError, invalidValue, uniqueness } from '../domain/errors';

/**
 * Driver errors normalised once: a unique violation becomes the domain's uniqueness
 * error (by constraint name), a lost or refused connection becomes `unavailable`.
 * Anything else passes through unchanged and ends as a 500 with a request id.
 */
const UNIQUE_CONSTRAINTS: Record<string, () => DomainError> = {
  users_user_name_lower_unique: () => uniqueness('user.user_name_taken', 'userName is already taken'),
  groups_organization_display_name_lower_unique: () => uniqueness('group.display_name_taken', 'a group with this displayName already exists'),
  organizations_slug_unique: () => uniqueness('organization.slug_taken', 'an organization with this slug already exists'),
  console_admins_email_lower_unique: () => uniqueness('admin.email_taken', 'a console administrator with this email already exists'),
  api_credentials_secret_hash_unique: () => uniqueness('credential.secret_taken', 'this token secret is already in use'),
};

/** Foreign keys a concurrent delete can break (a member deleted while being added). */
const FOREIGN_KEYS: Record<string, () => DomainError> = {
  group_members_user_id_foreign: () => invalidValue('group.member_not_found', 'members must be users of this organization: a user was deleted meanwhile'),
  group_members_group_id_foreign: () => new DomainError('not_found', 'group.not_found', 'Group not found'),
};

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '08000',
  '08003',
  '08006',
  '08001',
  '08004',
]);

interface DriverErrorLike {
  code?: string;
  constraint?: string;
  message?: string;
  cause?: unknown;
}

export function normalizeDatabaseError(error: unknown): unknown {
  if (error instanceof DomainError) return error;
  const e = error as DriverErrorLike | undefined;
  if (!e || typeof e !== 'object') return error;
  const code = e.code ?? (e.cause as DriverErrorLike | undefined)?.code;
  if (code === '23505') {
    const constraint = e.constraint ?? (e.cause as DriverErrorLike | undefined)?.constraint ?? constraintIn(e.message);
    const mapped = constraint ? UNIQUE_CONSTRAINTS[constraint] : undefined;
    if (mapped) return mapped();
  }
  if (code === '23503') {
    const constraint = e.constraint ?? (e.cause as DriverErrorLike | undefined)?.constraint ?? Object.keys(FOREIGN_KEYS).find((k) => e.message?.includes(k));
    const mapped = constraint ? FOREIGN_KEYS[constraint] : undefined;
    if (mapped) return mapped();
  }
  if (code && CONNECTION_CODES.has(code)) return databaseUnavailable();
  if (
    /Connection terminated|timeout exceeded when trying to connect|Cannot use a pool after calling end|Client was closed and is not queryable|Knex: Timeout acquiring a connection|Unable to acquire a connection/i.test(
      e.message ?? '',
    )
  ) {
    return databaseUnavailable();
  }
  return error;
}

function constraintIn(message: string | undefined): string | undefined {
  return Object.keys(UNIQUE_CONSTRAINTS).find((name) => message?.includes(name));
}

export function databaseUnavailable(): DomainError {
  return new DomainError('unavailable', 'database.unavailable', 'the database is not answering; try again shortly');
}
