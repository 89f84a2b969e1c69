import type { Pool } from 'pg';
import type { NewSigningKey, SigningKey, SigningKeyStore } from '../domain/signing';
import { servesOneSession } from './database';
import { normalizeDatabaseError } from './errors';
import { Sql, toDate, toDateOrNull, transaction } from './sql';

const COLUMNS = `kid, algorithm, private_jwk as "privateJwk", public_jwk as "publicJwk", created_at as "createdAt",
  retired_at as "retiredAt", expires_at as "expiresAt"`;

/** The advisory lock key rotations take, so two run one after the other ('roster.signing_keys' as a number). */
const ROTATION_LOCK = 7_291_004_113;

type Row = Record<keyof SigningKey, unknown>;

function toKey(row: Row): SigningKey {
  return {
    ...(row as unknown as SigningKey),
    createdAt: toDate(row.createdAt),
    retiredAt: toDateOrNull(row.retiredAt),
    expiresAt: toDateOrNull(row.expiresAt),
  };
}

/** signing_keys on Roster's pool. */
export class SigningKeySqlStore implements SigningKeyStore {
  private readonly sql: Sql;

  constructor(private readonly pool: Pool) {
    this.sql = Sql.onPool(pool, false, servesOneSession(pool));
  }

  async active(): Promise<SigningKey | null> {
    const row = await this.guard(() => this.sql.one<Row>(`select ${COLUMNS} from signing_keys where retired_at is null`));
    return row ? toKey(row) : null;
  }

  async list(): Promise<SigningKey[]> {
    const rows = await this.guard(() => this.sql.all<Row>(`select ${COLUMNS} from signing_keys order by created_at desc, kid`));
    return rows.map(toKey);
  }

  async published(at: Date): Promise<SigningKey[]> {
    const rows = await this.guard(() =>
      this.sql.all<Row>(`select ${COLUMNS} from signing_keys where retired_at is null or expires_at > ? order by created_at desc, kid`, [at]),
    );
    return rows.map(toKey);
  }

  async insertIfNoneActive(key: NewSigningKey): Promise<boolean> {
    // The partial unique index signing_keys_one_active_unique makes a second active key a conflict.
    const inserted = await this.guard(() =>
      this.sql.run(`insert into signing_keys (kid, algorithm, private_jwk, public_jwk) values (?, ?, ?::jsonb, ?::jsonb) on conflict do nothing`, [
        key.kid,
        key.algorithm,
        JSON.stringify(key.privateJwk),
        JSON.stringify(key.publicJwk),
      ]),
    );
    return inserted === 1;
  }

  async rotate(key: NewSigningKey, retireAfterDays: number): Promise<SigningKey | null> {
    return this.guard(() =>
      transaction(this.pool, async (client) => {
        const sql = Sql.onClient(client);
        await sql.one('select pg_advisory_xact_lock(?::bigint) as locked', [ROTATION_LOCK]);
        const retired = await sql.one<Row>(
          `update signing_keys set retired_at = now(), expires_at = now() + make_interval(days => ?::int)
           where retired_at is null returning ${COLUMNS}`,
          [retireAfterDays],
        );
        await sql.run(`insert into signing_keys (kid, algorithm, private_jwk, public_jwk) values (?, ?, ?::jsonb, ?::jsonb)`, [
          key.kid,
          key.algorithm,
          JSON.stringify(key.privateJwk),
          JSON.stringify(key.publicJwk),
        ]);
        return retired ? toKey(retired) : null;
      }),
    );
  }

  async replacePrivate(kid: string, privateJwk: Record<string, unknown>): Promise<boolean> {
    const updated = await this.guard(() => this.sql.run(`update signing_keys set private_jwk = ?::jsonb where kid = ?`, [JSON.stringify(privateJwk), kid]));
    return updated === 1;
  }

  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw normalizeDatabaseError(error);
    }
  }
}
