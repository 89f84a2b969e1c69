import type { Pool } from 'pg';
import type { ConsoleAdmin, ConsoleAdminStore, NewConsoleAdmin } from '../domain/console-admins';
import type { OrganizationRole, SystemRole } from '../domain/roles';
import { servesOneSession } from './database';
import { normalizeDatabaseError } from './errors';
import { Sql, toDate, toDateOrNull } from './sql';

type Row = Record<string, unknown>;

const COLUMNS = 'a.id, a.email, a.organization_id, a.system_role, a.organization_role, a.created_at, a.disabled_at, a.last_sign_in_at';

function toAdmin(row: Row): ConsoleAdmin {
  return {
    id: row.id as string,
    email: row.email as string,
    organizationId: (row.organization_id as string | null) ?? null,
    systemRole: row.system_role as SystemRole,
    organizationRole: row.organization_role as OrganizationRole,
    createdAt: toDate(row.created_at),
    disabledAt: toDateOrNull(row.disabled_at),
    lastSignInAt: toDateOrNull(row.last_sign_in_at),
  };
}

/** console_admins and console_sessions on Roster's pool; each method is one statement. */
export class ConsoleAdminSqlStore implements ConsoleAdminStore {
  private readonly sql: Sql;

  constructor(pool: Pool) {
    this.sql = Sql.onPool(pool, false, servesOneSession(pool));
  }

  private async guarded<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw normalizeDatabaseError(error);
    }
  }

  insert(admin: NewConsoleAdmin): Promise<ConsoleAdmin> {
    return this.guarded(async () => {
      const row = await this.sql.one<Row>(
        `insert into console_admins as a (email, password_hash, organization_id, system_role, organization_role)
         values (?, ?, ?, ?, ?) returning ${COLUMNS}`,
        [admin.email, admin.passwordHash, admin.organizationId, admin.systemRole, admin.organizationRole],
      );
      return toAdmin(row as Row);
    });
  }

  list(): Promise<ConsoleAdmin[]> {
    return this.guarded(async () => (await this.sql.all<Row>(`select ${COLUMNS} from console_admins a order by a.created_at, a.id`)).map(toAdmin));
  }

  count(): Promise<number> {
    return this.guarded(async () => Number((await this.sql.one<Row>('select count(*) as n from console_admins'))?.n ?? 0));
  }

  withPassword(email: string): Promise<{ admin: ConsoleAdmin; passwordHash: string } | null> {
    return this.guarded(async () => {
      const row = await this.sql.one<Row>(`select ${COLUMNS}, a.password_hash from console_admins a where lower(a.email) = lower(?)`, [email]);
      return row ? { admin: toAdmin(row), passwordHash: row.password_hash as string } : null;
    });
  }

  disable(email: string, at: Date): Promise<ConsoleAdmin | null> {
    return this.guarded(async () => {
      const row = await this.sql.one<Row>(
        `with disabled as (
           update console_admins a set disabled_at = coalesce(a.disabled_at, ?) where lower(a.email) = lower(?) returning ${COLUMNS}
         ), ended as (delete from console_sessions s using disabled d where s.admin_id = d.id)
         select * from disabled`,
        [at, email],
      );
      return row ? toAdmin(row) : null;
    });
  }

  startSession(idHash: string, adminId: string, at: Date, idleSince: Date): Promise<void> {
    return this.guarded(async () => {
      await this.sql.run(
        `with started as (insert into console_sessions (id_hash, admin_id, created_at, last_seen_at) values (?, ?, ?, ?)),
         pruned as (delete from console_sessions where last_seen_at <= ?)
         update console_admins set last_sign_in_at = ? where id = ?`,
        [idHash, adminId, at, at, idleSince, at, adminId],
      );
    });
  }

  resumeSession(idHash: string, now: Date, idleSince: Date): Promise<ConsoleAdmin | null> {
    return this.guarded(async () => {
      const row = await this.sql.one<Row>(
        `update console_sessions s set last_seen_at = ? from console_admins a
         where s.id_hash = ? and a.id = s.admin_id and a.disabled_at is null and s.last_seen_at > ?
         returning ${COLUMNS}`,
        [now, idHash, idleSince],
      );
      if (row) return toAdmin(row);
      await this.sql.run('delete from console_sessions where id_hash = ?', [idHash]);
      return null;
    });
  }

  endSession(idHash: string): Promise<void> {
    return this.guarded(async () => {
      await this.sql.run('delete from console_sessions where id_hash = ?', [idHash]);
    });
  }

  addSetupToken(tokenHash: string, expiresAt: Date): Promise<void> {
    return this.guarded(async () => {
      await this.sql.run('insert into console_setup_tokens (token_hash, expires_at) values (?, ?)', [tokenHash, expiresAt]);
    });
  }

  createFirst(tokenHash: string, now: Date, admin: NewConsoleAdmin): Promise<ConsoleAdmin | null> {
    return this.guarded(async () => {
      // The token's row is deleted first (a second use waits for it, then finds nothing);
      // the others go with it once an administrator is made.
      const row = await this.sql.one<Row>(
        `with used as (delete from console_setup_tokens where token_hash = ? and expires_at > ? returning token_hash),
         made as (
           insert into console_admins (email, password_hash, organization_id, system_role, organization_role)
           select ?, ?, ?, ?, ? where exists (select 1 from used) and not exists (select 1 from console_admins)
           returning id, email, organization_id, system_role, organization_role, created_at, disabled_at, last_sign_in_at
         ),
         others as (delete from console_setup_tokens where token_hash <> ? and exists (select 1 from made))
         select * from made`,
        [tokenHash, now, admin.email, admin.passwordHash, admin.organizationId, admin.systemRole, admin.organizationRole, tokenHash],
      );
      return row ? toAdmin(row) : null;
    });
  }
}
