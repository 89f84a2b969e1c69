import type { MikroORM } from '@mikro-orm/postgresql';
import type { Pool } from 'pg';
import type { Repositories, UnitOfWork, WriteOptions } from '../domain/ports';
import { AuditSqlRepository } from './audit.repository';
import { CredentialSqlRepository } from './credential.repository';
import { EventOutboxSqlRepository } from './event-outbox.repository';
import { EventSequencer } from './event-sequencer';
import { poolOf, servesOneSession } from './database';
import { normalizeDatabaseError } from './errors';
import { GroupSqlRepository } from './group.repository';
import { GroupRoleSqlRepository } from './group-role.repository';
import { OrganizationSqlRepository, SHARE_LICENSE_QUERY, type SharedLicenseRead } from './organization.repository';
import { SETTINGS_QUERY, SettingsSqlRepository, type SettingsRow } from './settings.repository';
import { isUuid } from '../domain/ids';
import { inlined, Sql, transaction } from './sql';
import { UserSqlRepository } from './user.repository';

/**
 * The repositories on one Sql. `events`: the outbox (on a read's statements, one that
 * wakes the sequencer). `transaction`: given for the repositories of one write, whose
 * settings are read once, with its BEGIN (`settings`: the rows read then;
 * SettingsSqlRepository), as is the license it shares when it said so (`license`:
 * WriteOptions.sharesLicense).
 */
function repositories(
  sql: Sql,
  events = new EventOutboxSqlRepository(sql),
  transaction?: { settings?: SettingsRow[]; license?: SharedLicenseRead },
): Repositories {
  return {
    users: new UserSqlRepository(sql),
    groups: new GroupSqlRepository(sql),
    groupRoles: new GroupRoleSqlRepository(sql, events),
    organizations: new OrganizationSqlRepository(sql, transaction?.license),
    credentials: new CredentialSqlRepository(sql),
    settings: new SettingsSqlRepository(sql, transaction !== undefined, transaction?.settings),
    audit: new AuditSqlRepository(sql),
    events,
  };
}

/**
 * A write's BEGIN, and the settings read in the same round trip: nearly every write
 * authorizes its change on them (the policy's settings), so every write makes one round
 * trip fewer (docs/benchmarks.md, "Creates and PATCHes: validation once, fewer round trips").
 */
const BEGIN_WITH_SETTINGS = `begin; ${SETTINGS_QUERY}`;

/**
 * The domain's unit of work on Roster's pg pool (Database.pool). A read runs its
 * statements on the pool (the repositories hold no state, so one set serves every
 * read); a write holds one pooled connection from BEGIN to COMMIT or ROLLBACK, and a
 * connection that cannot roll back is discarded, not pooled again. A write that appended
 * events to the outbox runs the sequencer after its COMMIT succeeded (never before, never on
 * a rollback), without waiting for it, and once the events are sequenced calls
 * `onEventsCommitted`: the delivery worker of this process wakes then (roster.ts).
 */
export class OrmUnitOfWork implements UnitOfWork {
  private readonly pool: Pool;
  private readonly reads: Repositories;

  /**
   * `source`: the pool, or the MikroORM of a Database (its pool is the one openDatabase
   * opened with it). `prepare`: run statements as named prepared statements
   * (Database.preparedStatements).
   */
  constructor(
    source: Pool | MikroORM,
    private readonly prepare = false,
    private readonly onEventsCommitted?: () => void,
  ) {
    this.pool = 'getMigrator' in source ? poolOf(source) : source;
    const reads = Sql.onPool(this.pool, prepare, servesOneSession(this.pool));
    // Reads of the outbox run the sequencer first (never a write's: see EventOutboxSqlRepository).
    this.reads = repositories(reads, new EventOutboxSqlRepository(reads, EventSequencer.of(this.pool)));
  }

  async read<T>(work: (repos: Repositories) => Promise<T>): Promise<T> {
    try {
      return await work(this.reads);
    } catch (error) {
      throw normalizeDatabaseError(error);
    }
  }

  async write<T>(work: (repos: Repositories) => Promise<T>, options: WriteOptions = {}): Promise<T> {
    try {
      let outbox: EventOutboxSqlRepository | undefined;
      // A create's shared license check joins the BEGIN (one round trip fewer): its values written in, as a simple query binds none.
      const shares = options.sharesLicense && isUuid(options.sharesLicense.organizationId) ? options.sharesLicense : undefined;
      const begin = shares ? `${BEGIN_WITH_SETTINGS}; ${inlined(SHARE_LICENSE_QUERY, [shares.organizationId, shares.type])}` : BEGIN_WITH_SETTINGS;
      const result = await transaction(
        this.pool,
        (client, begun, pending) => {
          const sql = Sql.onClient(client, this.prepare, pending);
          outbox = new EventOutboxSqlRepository(sql);
          const license = shares && begun[2] ? { ...shares, rows: begun[2].rows } : undefined;
          return work(repositories(sql, outbox, { settings: begun[1]?.rows as SettingsRow[] | undefined, license }));
        },
        begin,
      );
      // transaction() returned: COMMIT succeeded. The write does not wait for the sequencer, and its failure is not the write's.
      if (outbox?.appended) this.sequenceCommitted();
      return result;
    } catch (error) {
      throw normalizeDatabaseError(error);
    }
  }

  /**
   * After a COMMIT that queued events: the sequencer moves them (coalesced with any run
   * under way), then `onEventsCommitted` wakes the delivery worker, which finds them
   * sequenced. A failed run is the periodic run's or the next reader's to redo.
   */
  private sequenceCommitted(): void {
    const wake = () => {
      try {
        this.onEventsCommitted?.();
      } catch {
        // the worker still finds the events on its next poll
      }
    };
    EventSequencer.of(this.pool).run({ queued: true }).then(wake, wake);
  }
}
