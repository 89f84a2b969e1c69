import type { MikroORM } from '@mikro-orm/postgresql';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Repositories, UnitOfWork } from '../domain/ports';
import { AuditSqlRepository } from './audit.repository';
import { CredentialSqlRepository } from './credential.repository';
import { normalizeDatabaseError } from './errors';
import { GroupSqlRepository } from './group.repository';
import { OrganizationSqlRepository } from './organization.repository';
import { SettingsSqlRepository } from './settings.repository';
import { Sql } from './sql';
import { UserSqlRepository } from './user.repository';

function repositories(em: EntityManager, prepare: boolean): Repositories {
  const sql = new Sql(em, prepare);
  return {
    users: new UserSqlRepository(sql),
    groups: new GroupSqlRepository(sql),
    organizations: new OrganizationSqlRepository(sql),
    credentials: new CredentialSqlRepository(sql),
    settings: new SettingsSqlRepository(sql),
    audit: new AuditSqlRepository(sql),
  };
}

/** The domain's unit of work on MikroORM: a fresh EntityManager per unit, one transaction per write. */
export class OrmUnitOfWork implements UnitOfWork {
  /** `prepare`: run statements as named prepared statements (Database.preparedStatements). */
  constructor(
    private readonly orm: MikroORM,
    private readonly prepare = false,
  ) {}

  async read<T>(work: (repos: Repositories) => Promise<T>): Promise<T> {
    try {
      return await work(repositories(this.orm.em.fork(), this.prepare));
    } catch (error) {
      throw normalizeDatabaseError(error);
    }
  }

  async write<T>(work: (repos: Repositories) => Promise<T>): Promise<T> {
    try {
      return await this.orm.em.fork().transactional((em) => work(repositories(em, this.prepare)));
    } catch (error) {
      throw normalizeDatabaseError(error);
    }
  }
}
