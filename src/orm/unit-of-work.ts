import type { MikroORM } from '@mikro-orm/postgresql';
import type { Repositories, UnitOfWork } from '../domain/ports';
import { AuditSqlRepository } from './audit.repository';
import { CredentialSqlRepository } from './credential.repository';
import { normalizeDatabaseError } from './errors';
import { GroupSqlRepository } from './group.repository';
import { OrganizationSqlRepository } from './organization.repository';
import { SettingsSqlRepository } from './settings.repository';
import { Sql } from './sql';
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
 * The domain's unit of work on MikroORM. A read runs its statements on the pool, with
 * no EntityManager of its own (the repositories hold no state, so one set serves every
 * read); a write gets a fresh EntityManager and one transaction.
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

  async write<T>(work: (repos: Repositories) => Promise<T>): Promise<T> {
    try {
      return await this.orm.em.fork().transactional((em) => work(repositories(new Sql(em, this.prepare))));
    } catch (error) {
      throw normalizeDatabaseError(error);
    }
  }
}
