import { randomUUID } from 'node:crypto';
import type { Organization, OrganizationLicense } from '../domain/organization';
import type { OrganizationRepository, SharedLicense } from '../domain/ports';
import type { AccountType } from '../domain/roles';
import { isUuid } from '../domain/ids';
import { toDate, type Sql } from './sql';

const COLUMNS = 'id, slug, name, created_at as "createdAt"';

const LICENSE_FIELDS: Record<keyof OrganizationLicense, string> = {
  standardUserLimit: 'standard_user_limit',
  apiUserLimit: 'api_user_limit',
  taxiiUserLimit: 'taxii_user_limit',
  readOnlyUserLimit: 'read_only_user_limit',
  apiUsersAllowed: 'api_users_allowed',
  readOnlyUsersFree: 'read_only_users_free',
};
const LICENSE_COLUMNS = Object.entries(LICENSE_FIELDS)
  .map(([field, column]) => `${column} as "${field}"`)
  .join(', ');

/** The license lock of one organization (a transaction-level advisory lock), for `?` = its id. */
/**
 * The key of an organization's license lock (an advisory lock: exclusive to change who
 * counts, shared by a create, `roster_share_license`), of the organization id as text
 * (bound, or an expression).
 */
export const licenseLockKey = (organizationId = '?::text'): string => `hashtext('roster_license'), hashtext(${organizationId})`;

type Row = Omit<Organization, 'createdAt'> & { createdAt: unknown };
const toOrganization = (row: Row | null): Organization | null => (row ? { ...row, createdAt: toDate(row.createdAt) } : null);

/** The shared license statement (migration license_check): it locks, then reads with a fresh snapshot. */
export const SHARE_LICENSE_QUERY = 'select * from roster_share_license(?::uuid, ?::text)';

/** A `roster_share_license` already run for this write, with its BEGIN (unit-of-work.ts): for whom, and its rows. */
export interface SharedLicenseRead {
  organizationId: string;
  type: AccountType;
  rows: unknown[];
}

export class OrganizationSqlRepository implements OrganizationRepository {
  /** `shared`: the write's license, read with its BEGIN; it answers that write's one call for it. */
  constructor(
    private readonly sql: Sql,
    private shared?: SharedLicenseRead,
  ) {}

  async findBySlug(slug: string): Promise<Organization | null> {
    return toOrganization(await this.sql.one<Row>(`select ${COLUMNS} from organizations where slug = ?`, [slug]));
  }

  async findById(id: string): Promise<Organization | null> {
    if (!isUuid(id)) return null;
    return toOrganization(await this.sql.one<Row>(`select ${COLUMNS} from organizations where id = ?`, [id]));
  }

  async list(): Promise<Organization[]> {
    const rows = await this.sql.all<Row>(`select ${COLUMNS} from organizations order by slug`);
    return rows.map((row) => toOrganization(row) as Organization);
  }

  async lockLicense(id: string): Promise<OrganizationLicense | null> {
    await this.sql.run(`select pg_advisory_xact_lock(${licenseLockKey()}) as locked`, [id]);
    // FOR NO KEY UPDATE, not FOR UPDATE: it still waits for a license change (an UPDATE of the row) and holds the next
    // one off, but not for the key-share lock a row referencing the organization takes (a group, a mapping, a user).
    // A transaction that wrote such a row before checking the license (a group-roles set that re-types its members)
    // would otherwise deadlock with a create holding the advisory lock and waiting for this row (40P01).
    return this.sql.one<OrganizationLicense>(`select ${LICENSE_COLUMNS} from organizations where id = ? for no key update`, [id]);
  }

  async shareLicense(id: string, type: AccountType): Promise<SharedLicense | null> {
    if (!isUuid(id)) return null;
    type SharedRow = OrganizationLicense & { users: number; sessions: number };
    let row: SharedRow | null;
    const begun = this.shared;
    if (begun !== undefined && begun.organizationId === id && begun.type === type) {
      // Read with the BEGIN, once: a second check in the same write reads again, as it always did.
      this.shared = undefined;
      row = (begun.rows[0] ?? null) as SharedRow | null;
    } else {
      // One round trip: the function (migration license_check) locks, then reads with a fresh snapshot.
      row = await this.sql.one<SharedRow>(SHARE_LICENSE_QUERY, [id, type]);
    }
    if (!row) return null;
    const { users, sessions, ...license } = row;
    return { license, users, unseenAtMost: sessions };
  }

  async license(id: string): Promise<OrganizationLicense | null> {
    return this.sql.one<OrganizationLicense>(`select ${LICENSE_COLUMNS} from organizations where id = ?`, [id]);
  }

  async setLicense(id: string, license: Partial<OrganizationLicense>): Promise<void> {
    const pairs = Object.entries(license).filter(([key, value]) => value !== undefined && key in LICENSE_FIELDS);
    if (pairs.length === 0) return;
    await this.sql.run(
      `update organizations set ${pairs.map(([key]) => `${LICENSE_FIELDS[key as keyof OrganizationLicense]} = ?`).join(', ')}, updated_at = now() where id = ?`,
      [...pairs.map(([, value]) => value), id],
    );
  }

  async insert(org: { slug: string; name: string }): Promise<Organization> {
    const row = await this.sql.one<Row>(`insert into organizations (id, slug, name) values (?, ?, ?) returning ${COLUMNS}`, [randomUUID(), org.slug, org.name]);
    return toOrganization(row) as Organization;
  }
}
