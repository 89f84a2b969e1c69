import { randomUUID } from 'node:crypto';
import type { Credential } from '../domain/credential';
import type { CredentialRepository } from '../domain/ports';
import { CREDENTIALS_CHANNEL } from './revocation-feed';
import { isUuid } from '../domain/ids';
import { toDate, toDateOrNull, type Sql } from './sql';

const COLUMNS = `id, organization_id as "organizationId", name, system_role as "systemRole",
  organization_role as "organizationRole", created_at as "createdAt", last_used_at as "lastUsedAt",
  expires_at as "expiresAt", revoked_at as "revokedAt"`;

type Row = Record<keyof Credential, unknown>;

function toCredential(row: Row | null): Credential | null {
  if (!row) return null;
  return {
    ...(row as unknown as Credential),
    createdAt: toDate(row.createdAt),
    lastUsedAt: toDateOrNull(row.lastUsedAt),
    expiresAt: toDateOrNull(row.expiresAt),
    revokedAt: toDateOrNull(row.revokedAt),
  };
}

/** Credentials are stored by the SHA-256 of their secret; the secret itself never is. */
export class CredentialSqlRepository implements CredentialRepository {
  constructor(private readonly sql: Sql) {}

  async findBySecretHash(secretHash: string): Promise<Credential | null> {
    return toCredential(await this.sql.one<Row>(`select ${COLUMNS} from api_credentials where secret_hash = ?`, [secretHash]));
  }

  async activeSecretHashes(at: Date): Promise<string[]> {
    const rows = await this.sql.all<{ secret_hash: string }>(
      'select secret_hash from api_credentials where revoked_at is null and (expires_at is null or expires_at > ?)',
      [at],
    );
    return rows.map((r) => r.secret_hash);
  }

  async findById(id: string): Promise<Credential | null> {
    if (!isUuid(id)) return null;
    return toCredential(await this.sql.one<Row>(`select ${COLUMNS} from api_credentials where id = ?`, [id]));
  }

  async listByOrganization(organizationId: string): Promise<Credential[]> {
    const rows = await this.sql.all<Row>(`select ${COLUMNS} from api_credentials where organization_id = ? order by created_at, id`, [organizationId]);
    return rows.map((row) => toCredential(row) as Credential);
  }

  async insert(credential: Omit<Credential, 'id' | 'createdAt' | 'lastUsedAt' | 'revokedAt'> & { secretHash: string }): Promise<Credential> {
    const row = await this.sql.one<Row>(
      `insert into api_credentials (id, organization_id, name, secret_hash, system_role, organization_role, expires_at)
       values (?, ?, ?, ?, ?, ?, ?) returning ${COLUMNS}`,
      [
        randomUUID(),
        credential.organizationId,
        credential.name,
        credential.secretHash,
        credential.systemRole,
        credential.organizationRole,
        credential.expiresAt,
      ],
    );
    return toCredential(row) as Credential;
  }

  async revoke(id: string, at: Date): Promise<boolean> {
    const revoked = (await this.sql.run('update api_credentials set revoked_at = ? where id = ? and revoked_at is null', [at, id])) > 0;
    // Delivered at commit to every Roster process listening (see revocation-feed.ts).
    if (revoked) await this.sql.all(`select pg_notify('${CREDENTIALS_CHANNEL}', ?) as sent`, [id]);
    return revoked;
  }

  async markUsed(id: string, at: Date): Promise<void> {
    await this.sql.run('update api_credentials set last_used_at = ? where id = ? and (last_used_at is null or last_used_at < ?)', [at, id, at]);
  }
}
