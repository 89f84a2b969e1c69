import type { MikroORM } from '@mikro-orm/postgresql';
import type { Repositories, UnitOfWork } from '../domain/ports';
import { AuditSqlRepository } from './audit.repository';
import { CredentialSqlRepository } from './credential.repository';
import { normalizeDatabaseError } from './errors';
import { GroupSqlRepository } from './group.repository';
import { OrganizationSqlRepository } from './organization.repository';
import { SettingsSqlRepository } from './settings.repository';
import { Sql, type KnexClient, type PgClient } from './sql';
import { UserSqlRepository } from './user.repository';

function repositories(sql: Sql): Repositories {
  return {
    users: new UserSqlRepository(sql),
    groups: new GroupSqlRepository(sql),
    organizations: new OrganizationSqlRepository(sql),
    credentials: new CredentialSqlRepository(sql),
    settings: new SettingsSqlRepository(sql),
    audit: new AuditSqlRepository(sql),
  };
}

/**
 * The domain's unit of work on MikroORM's connection pool. A read runs its statements
 * on the pool, with no EntityManager of its own (the repositories hold no state, so
 * one set serves every read); a write holds one pooled connection for its transaction.
 */
export class OrmUnitOfWork implements UnitOfWork {
  private readonly reads: Repositories;

  /** `prepare`: run statements as named prepared statements (Database.preparedStatements). */
  constructor(
    private readonly orm: MikroORM,
    private readonly prepare = false,
  ) {
    this.reads = repositories(Sql.onPool(orm.em.getConnection(), prepare));
  }

  async read<T>(work: (repos: Repositories) => Promise<T>): Promise<T> {
    try {
      return await work(this.reads);
    } catch (error) {
      throw normalizeDatabaseError(error);
    }
  }

  /**
   * One transaction on one pooled connection, held from BEGIN to COMMIT (or ROLLBACK),
   * its statements sent straight to it: what an EntityManager's transaction does for
   * plain SQL, without compiling each statement through knex. A connection that
   * cannot roll back is not reused.
   */
  async write<T>(work: (repos: Repositories) => Promise<T>): Promise<T> {
    const pool = this.orm.em.getConnection();
    const client = pool.getKnex().client as KnexClient;
    let connection: PgClient;
    try {
      connection = await client.acquireConnection();
    } catch (error) {
      throw normalizeDatabaseError(error);
    }
    try {
      await connection.query({ text: 'begin' });
      const result = await work(repositories(Sql.onClient(connection, pool, this.prepare)));
      await connection.query({ text: 'commit' });
      return result;
    } catch (error) {
      await connection.query({ text: 'rollback' }).catch((rollbackError: unknown) => {
        // knex's pool validates a connection before handing it out again: this one is not.
        (connection as PgClient & { __knex__disposed?: unknown }).__knex__disposed = rollbackError;
      });
      throw normalizeDatabaseError(error);
    } finally {
      await client.releaseConnection(connection);
    }
  }
}
