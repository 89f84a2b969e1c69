import { randomUUID } from 'node:crypto';
import type { AccountCounts, ListQuery, NewUser, Page, RenderedPage, UserRepository } from '../domain/ports';
import type { AccountType, OrganizationRole, SystemRole } from '../domain/roles';
import type { MultiValue, User, UserFields } from '../domain/user';
import { listPage, packedColumns } from './catalogs';
import { userResourceColumns } from './user-resource';
import { isUuid, placeholders, toDate, uuidArray, type Sql } from './sql';

/** Domain field -> column, for the fields stored one to one. */
const COLUMNS: Record<Exclude<keyof UserFields, 'name'>, string> = {
  userName: 'user_name',
  externalId: 'external_id',
  displayName: 'display_name',
  nickName: 'nick_name',
  profileUrl: 'profile_url',
  title: 'title',
  userType: 'user_type',
  preferredLanguage: 'preferred_language',
  locale: 'locale',
  timezone: 'timezone',
  active: 'active',
  emails: 'emails',
  phoneNumbers: 'phone_numbers',
  ims: 'ims',
  photos: 'photos',
  addresses: 'addresses',
  entitlements: 'entitlements',
  roles: 'roles',
  x509Certificates: 'x509_certificates',
  enterprise: 'enterprise',
  systemRole: 'system_role',
  organizationRole: 'organization_role',
  customTqlTimeout: 'custom_tql_timeout',
  locked: 'locked',
  passwordResetRequired: 'password_reset_required',
  mfaResetRequired: 'mfa_reset_required',
  termsOfServiceAcceptanceRequired: 'terms_of_service_acceptance_required',
  logoutAfterMinutes: 'logout_after_minutes',
  summaryEmailTime: 'summary_email_time',
  tokenExpirationDays: 'token_expiration_days',
  includeInObservations: 'include_in_observations',
  allowExceedApiLinkLimit: 'allow_exceed_api_link_limit',
};

const NAME_COLUMNS = {
  formatted: 'name_formatted',
  familyName: 'name_family_name',
  givenName: 'name_given_name',
  middleName: 'name_middle_name',
  honorificPrefix: 'name_honorific_prefix',
  honorificSuffix: 'name_honorific_suffix',
} as const;

const JSON_FIELDS = new Set(['emails', 'phoneNumbers', 'ims', 'photos', 'addresses', 'entitlements', 'roles', 'x509Certificates', 'enterprise']);

type Row = Record<string, unknown>;

/** Column/value pairs for a set of user fields; `name` spreads over its columns. */
function columnValues(fields: Partial<UserFields>): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [field, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if (field === 'name') {
      const name = (value ?? {}) as Record<string, string | undefined>;
      for (const [part, column] of Object.entries(NAME_COLUMNS)) out.push([column, name[part] ?? null]);
      continue;
    }
    const column = COLUMNS[field as keyof typeof COLUMNS];
    if (!column) continue;
    out.push([column, JSON_FIELDS.has(field) && value !== null ? JSON.stringify(value) : value]);
  }
  return out;
}

/** A users row as a User. Plain property reads: this runs for every user of every list page. */
function toUser(row: Row): User {
  const name: User['name'] = {};
  if (row.name_formatted != null) name.formatted = row.name_formatted as string;
  if (row.name_family_name != null) name.familyName = row.name_family_name as string;
  if (row.name_given_name != null) name.givenName = row.name_given_name as string;
  if (row.name_middle_name != null) name.middleName = row.name_middle_name as string;
  if (row.name_honorific_prefix != null) name.honorificPrefix = row.name_honorific_prefix as string;
  if (row.name_honorific_suffix != null) name.honorificSuffix = row.name_honorific_suffix as string;
  return {
    id: row.id as string,
    organizationId: row.organization_id as string,
    userName: row.user_name as string,
    externalId: row.external_id as User['externalId'],
    name,
    displayName: row.display_name as User['displayName'],
    nickName: row.nick_name as User['nickName'],
    profileUrl: row.profile_url as User['profileUrl'],
    title: row.title as User['title'],
    userType: row.user_type as User['userType'],
    preferredLanguage: row.preferred_language as User['preferredLanguage'],
    locale: row.locale as User['locale'],
    timezone: row.timezone as User['timezone'],
    active: row.active as boolean,
    emails: row.emails as MultiValue[],
    phoneNumbers: row.phone_numbers as MultiValue[],
    ims: row.ims as MultiValue[],
    photos: row.photos as MultiValue[],
    addresses: row.addresses as User['addresses'],
    entitlements: row.entitlements as MultiValue[],
    roles: row.roles as MultiValue[],
    x509Certificates: row.x509_certificates as MultiValue[],
    enterprise: row.enterprise as User['enterprise'],
    systemRole: row.system_role as SystemRole,
    organizationRole: row.organization_role as OrganizationRole,
    customTqlTimeout: row.custom_tql_timeout as User['customTqlTimeout'],
    locked: row.locked as boolean,
    passwordResetRequired: row.password_reset_required as boolean,
    mfaEnabled: row.mfa_enabled as boolean,
    mfaResetRequired: row.mfa_reset_required as boolean,
    termsOfServiceAcceptanceRequired: row.terms_of_service_acceptance_required as boolean,
    logoutAfterMinutes: row.logout_after_minutes as User['logoutAfterMinutes'],
    summaryEmailTime: row.summary_email_time as User['summaryEmailTime'],
    tokenExpirationDays: row.token_expiration_days as User['tokenExpirationDays'],
    includeInObservations: row.include_in_observations as User['includeInObservations'],
    allowExceedApiLinkLimit: row.allow_exceed_api_link_limit as User['allowExceedApiLinkLimit'],
    passwordHash: row.password_hash as string | null,
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
    version: row.version as number,
  };
}

/** A user's groups as JSON in the list query itself (no second round trip). */
const GROUPS_COLUMN = `, coalesce((select json_agg(json_build_object('id', g.id, 'displayName', g.display_name) order by g.display_name, g.id)
  from group_members gm join groups g on g.id = gm.group_id where gm.user_id = u.id and g.organization_id = u.organization_id), '[]'::json) as groups_json`;

export class UserSqlRepository implements UserRepository {
  constructor(private readonly sql: Sql) {}

  async list(organizationId: string, query: ListQuery): Promise<Page<User>> {
    const inline = query.includeGroups === true;
    const page = await listPage(this.sql, 'users', 'u', organizationId, query, packedColumns('u', inline ? GROUPS_COLUMN : ''));
    const items = page.rows.map(toUser);
    const groups = inline
      ? new Map(page.rows.map((row) => [row.id as string, (row.groups_json ?? []) as { id: string; displayName: string }[]]))
      : undefined;
    return { total: page.total, items, ...(page.next ? { next: page.next } : {}), ...(groups ? { groups } : {}) };
  }

  async listRendered(organizationId: string, query: ListQuery, baseUrl: string): Promise<RenderedPage> {
    const page = await listPage(this.sql, 'users', 'u', organizationId, query, userResourceColumns(baseUrl));
    return { total: page.total, resources: page.rows.map((row) => row.resource_json as string), ...(page.next ? { next: page.next } : {}) };
  }

  async findById(organizationId: string, id: string): Promise<User | null> {
    if (!isUuid(id)) return null;
    const row = await this.sql.one<Row>('select * from users where id = ? and organization_id = ?', [id, organizationId]);
    return row ? toUser(row) : null;
  }

  async lockById(organizationId: string, id: string): Promise<User | null> {
    if (!isUuid(id)) return null;
    const row = await this.sql.one<Row>('select * from users where id = ? and organization_id = ? for update', [id, organizationId]);
    return row ? toUser(row) : null;
  }

  async userNameTaken(userName: string, exceptId?: string): Promise<boolean> {
    const row = await this.sql.one(
      `select 1 as taken from users where lower(user_name) = lower(?)${exceptId ? ' and id <> ?' : ''} limit 1`,
      exceptId ? [userName, exceptId] : [userName],
    );
    return row !== null;
  }

  async insert(user: NewUser): Promise<User> {
    const { organizationId, passwordHash, ...fields } = user;
    const pairs: [string, unknown][] = [
      ['id', randomUUID()],
      ['organization_id', organizationId],
      ['password_hash', passwordHash],
      ...columnValues(fields),
    ];
    const row = await this.sql.one<Row>(
      `insert into users (${pairs.map(([c]) => c).join(', ')}) values (${placeholders(pairs.length)}) returning *`,
      pairs.map(([, v]) => v),
    );
    return toUser(row as Row);
  }

  async update(user: User, changes: Partial<UserFields> & { passwordHash?: string | null }): Promise<User> {
    const { passwordHash, ...fields } = changes;
    const pairs = columnValues(fields);
    if (passwordHash !== undefined) pairs.push(['password_hash', passwordHash]);
    const sets = pairs.map(([c]) => `${c} = ?`).concat('version = version + 1', 'updated_at = clock_timestamp()');
    const row = await this.sql.one<Row>(
      `update users set ${sets.join(', ')} where id = ? and organization_id = ? returning *`,
      [...pairs.map(([, v]) => v), user.id, user.organizationId],
    );
    return toUser(row as Row);
  }

  async delete(organizationId: string, id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    return (await this.sql.run('delete from users where id = ? and organization_id = ?', [id, organizationId])) > 0;
  }

  async unlinkManager(organizationId: string, managerId: string): Promise<User[]> {
    if (!isUuid(managerId)) return [];
    const rows = await this.sql.all<Row>(
      `update users set enterprise = enterprise - 'manager', version = version + 1, updated_at = clock_timestamp()
        where organization_id = ? and (enterprise #>> '{manager,value}') is not null and lower(enterprise #>> '{manager,value}') = ?
        returning *`,
      [organizationId, managerId.toLowerCase()],
    );
    return rows.map(toUser);
  }

  async existingIds(organizationId: string, ids: string[], options: { keyShare?: boolean } = {}): Promise<Set<string>> {
    const valid = ids.filter(isUuid);
    if (valid.length === 0) return new Set();
    const rows = await this.sql.all<{ id: string }>(
      `select id from users where organization_id = ? and id = any(?::uuid[])${options.keyShare ? ' for key share' : ''}`,
      [organizationId, uuidArray(valid)],
    );
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Users of each account type: the counts kept by the account-count triggers plus the
   * deltas not yet folded into them, read in one statement (one snapshot). Costs the
   * pending deltas (a second's worth of writes at most), never the users.
   */
  async countByAccountType(organizationId: string): Promise<AccountCounts> {
    const rows = await this.sql.all<{ type: AccountType; n: number }>(
      `select account_type as type, sum(n)::int as n from (
         select account_type, users as n from user_account_counts where organization_id = ?
         union all select account_type, delta from user_account_deltas where organization_id = ?) c
       group by account_type`,
      [organizationId, organizationId],
    );
    const counts: AccountCounts = { standard: 0, api: 0, taxii: 0, readOnly: 0 };
    for (const row of rows) if (row.type in counts) counts[row.type] = row.n;
    return counts;
  }

  async countOfAccountType(organizationId: string, type: AccountType): Promise<number> {
    return (await this.countByAccountType(organizationId))[type];
  }

  async batch(organizationId: string, afterId: string | undefined, limit: number): Promise<User[]> {
    const rows = await this.sql.all<Row>(
      `select * from users where organization_id = ?${afterId ? ' and id > ?' : ''} order by id limit ?`,
      afterId ? [organizationId, afterId, limit] : [organizationId, limit],
    );
    return rows.map(toUser);
  }

  async groupsOf(organizationId: string, userIds: string[]): Promise<Map<string, { id: string; displayName: string }[]>> {
    const byUser = new Map<string, { id: string; displayName: string }[]>(userIds.map((id) => [id, []]));
    const valid = userIds.filter(isUuid);
    if (valid.length === 0) return byUser;
    const rows = await this.sql.all<{ userId: string; id: string; displayName: string }>(
      `select gm.user_id as "userId", g.id, g.display_name as "displayName"
       from group_members gm join groups g on g.id = gm.group_id
       where gm.user_id = any(?::uuid[]) and g.organization_id = ? order by g.display_name, g.id`,
      [uuidArray(valid), organizationId],
    );
    for (const { userId, id, displayName } of rows) byUser.get(userId)?.push({ id, displayName });
    return byUser;
  }
}
