import { randomUUID } from 'node:crypto';
import type { Organization } from '../domain/organization';
import type { OrganizationRepository } from '../domain/ports';
import { isUuid, toDate, type Sql } from './sql';

const COLUMNS = 'id, slug, name, created_at as "createdAt"';

type Row = Omit<Organization, 'createdAt'> & { createdAt: unknown };
const toOrganization = (row: Row | null): Organization | null => (row ? { ...row, createdAt: toDate(row.createdAt) } : null);

export class OrganizationSqlRepository implements OrganizationRepository {
  constructor(private readonly sql: Sql) {}

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

  async insert(org: { slug: string; name: string }): Promise<Organization> {
    const row = await this.sql.one<Row>(
      `insert into organizations (id, slug, name) values (?, ?, ?) returning ${COLUMNS}`,
      [randomUUID(), org.slug, org.name],
    );
    return toOrganization(row) as Organization;
  }
}
