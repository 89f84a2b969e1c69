import os from 'node:os';
import argon2 from 'argon2';
import { Pool } from 'pg';
import type { Config } from './config';
import { ConsoleAdminService } from './domain/console-admins';
import { CredentialService } from './domain/credential.service';
import { GroupService } from './domain/group.service';
import { GroupRoleService } from './domain/group-role.service';
import { DEFAULT_ORGANIZATION, OrganizationService } from './domain/organization.service';
import { BoundedHasher, defaultHashConcurrency } from './domain/password-hashing';
import type { PasswordHasher } from './domain/ports';
import type { ReceiverStore } from './domain/receivers';
import { SettingsService } from './domain/settings.service';
import { UserService } from './domain/user.service';
import { EventPollService } from './domain/event-poll.service';
import { DeliveryWorker, type DeliveryOptions } from './events/delivery';
import { keyEncryptionKey, SigningKeys } from './events/keys';
import { SetPoller } from './events/poll';
import { ConsoleAdminSqlStore } from './orm/console-admin.repository';
import { asRosterConnections, openDatabase, servesOneSession, type Database } from './orm/database';
import { RequestLogSqlStore } from './orm/request-log.repository';
import { RequestLogWriter } from './requestlog/writer';
import type { RequestLogReader, RequestLogStore } from './domain/request-log';
import { EventReceiverSqlStore } from './orm/event-receiver.repository';
import { EventSequencer } from './orm/event-sequencer';
import { RevocationFeed } from './orm/revocation-feed';
import { SigningKeySqlStore } from './orm/signing-key.repository';
import { OrmUnitOfWork } from './orm/unit-of-work';
import { createRateLimits, type CounterStore, type RateLimits } from './scim/http/rate-limit';
import { SignInLimits } from './console/sign-in-limits';

/**
 * argon2id for human passwords (never for tokens: that would cost ~200 ms a request):
 * 64 MiB and 3 passes (the library's defaults), one lane. One lane keeps a hash on one
 * thread, so ROSTER_PASSWORD_HASH_CONCURRENCY is the number of cores hashing can take
 * (with the library's 4 lanes, one hash kept most of 2 cores busy). Hashes made with
 * other parameters still verify: they are written in the hash.
 */
export const argon2idHasher: PasswordHasher = {
  hash: (password) => argon2.hash(password, { type: argon2.argon2id, memoryCost: 65_536, timeCost: 3, parallelism: 1 }),
};

/** Everything a running Roster is made of, wired once: the composition root. */
export interface Roster {
  config: Config;
  database: Database;
  users: UserService;
  groups: GroupService;
  organizations: OrganizationService;
  settings: SettingsService;
  credentials: CredentialService;
  /** The keys Security Event Tokens are signed with, and the JWKS (src/events/). */
  signingKeys: SigningKeys;
  /** Poll delivery of the organizations' events as SETs (RFC 8936, POST /scim/v2/Events/poll). */
  setPoller: SetPoller;
  /** The organizations' push receivers of security events and their cursors. */
  receivers: ReceiverStore;
  /**
   * Moves the events writes queued into the outbox (orm/event-sequencer.ts): run by every
   * reader of the outbox and after each commit that queued events; main.ts starts its
   * periodic run, so the queue is drained when nobody reads.
   */
  sequencer: EventSequencer;
  /**
   * Calls `listener` after each committed write that appended events to the outbox, once
   * they are sequenced (the delivery worker's wake); returns what removes it.
   */
  onEventsCommitted(listener: () => void): () => void;
  /** The password hasher of every service, with its limits (ROSTER_PASSWORD_HASH_*). */
  passwordHashing: BoundedHasher;
  /** Per-credential request limits and per-address failed-authentication limits. */
  rateLimits: RateLimits;
  /**
   * The request log: `reader` is the organization-scoped port the CLI and the console read
   * through, `store` adds the instance-level reads of the operator's CLI, `writer` takes
   * the SCIM layer's entries (undefined when ROSTER_REQUEST_LOG is off).
   */
  requestLog: { reader: RequestLogReader; store: RequestLogStore; writer: RequestLogWriter | undefined };
  /** Console administrators and their sessions (the web console at /admin/, src/console/). */
  consoleAdmins: ConsoleAdminService;
  /** Failed console sign-ins per account and per address. */
  signInLimits: SignInLimits;
  close(): Promise<void>;
  /** Groups that grant roles: the operator's mappings (`roster group-roles`). */
  groupRoles: GroupRoleService;
}

export async function openRoster(
  config: Config,
  options: {
    migrate?: boolean;
    shareRunningEmbedded?: boolean;
    onWarning?: (message: string) => void;
    /** Keep verified credentials in memory, dropped on any revocation (the server does; the CLI does not). */
    withRevocationFeed?: boolean;
  } = {},
): Promise<Roster> {
  const database = await openDatabase({
    url: config.databaseUrl,
    dataDir: config.databaseUrl ? undefined : config.dataDir,
    poolMax: config.databasePoolMax,
    statementTimeoutMs: config.statementTimeoutMs,
    preparedStatements: config.preparedStatements,
    onWarning: options.onWarning,
    migrate: options.migrate,
    shareRunningEmbedded: options.shareRunningEmbedded,
  });
  let feed: RevocationFeed | undefined;
  // Embedded mode keeps no credential cache: one process, and no LISTEN to rely on.
  if (options.withRevocationFeed && !database.embedded) {
    feed = new RevocationFeed(database.url, options.onWarning);
    await feed.start();
  }
  const roster = assemble(config, database, feed, options.onWarning);
  // The first start makes the signing key (`roster migrate` alone may run before the table exists).
  if (options.migrate !== false) {
    try {
      const { sealed, unencrypted } = await roster.signingKeys.sealStored();
      if (sealed > 0) options.onWarning?.(`sealed ${sealed} signing key(s) stored unencrypted with ROSTER_SIGNING_KEY_SECRET`);
      await roster.signingKeys.ensureActive();
      if (unencrypted > 0 || config.signingKeySecret === undefined) {
        options.onWarning?.('signing keys are stored unencrypted in the database: set ROSTER_SIGNING_KEY_SECRET (docs/production.md)');
      }
    } catch (error) {
      await roster.close();
      throw error;
    }
  }
  return roster;
}

/**
 * ROSTER_RATE_LIMIT_STORE=postgres: the counters in `rate_limit_counters`, through a
 * small pool of its own (at most 4 connections), so a limit check never waits behind
 * the requests' own pool. Each statement is bounded to 1 s; when one fails, the
 * limiters answer from memory (rate-limit.ts) and a warning is logged at most once a
 * minute.
 */
export function sharedCounterStore(database: Database, onWarning: (message: string) => void): { store: CounterStore; close(): Promise<void> } {
  const pool = new Pool({
    connectionString: database.url,
    max: 4,
    connectionTimeoutMillis: 1_000,
    query_timeout: 1_500,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
  });
  // Every warning of the store (a failed count, a lost connection) at most once a minute: in an outage each
  // request's count fails, and each of the pool's idle connections is lost.
  let warnedAt = Number.NEGATIVE_INFINITY;
  const warn = (message: string) => {
    if (Date.now() - warnedAt <= 60_000) return;
    warnedAt = Date.now();
    onWarning(message);
  };
  asRosterConnections(pool, { statementTimeoutMs: 1_000, onWarning: warn });
  const prepared = database.preparedStatements;
  return {
    store: {
      query: (q) =>
        pool.query(prepared ? q : { text: q.text, values: q.values }).catch((error: unknown) => {
          warn(`rate-limit store unavailable, counting in memory: ${error instanceof Error ? error.message : String(error)}`);
          throw error;
        }),
    },
    close: () => pool.end(),
  };
}

export function assemble(
  config: Config,
  database: Database,
  feed?: RevocationFeed,
  onWarning: (message: string) => void = () => undefined,
  /** argon2id except in tests; always used through a BoundedHasher with the configured limits. */
  hasher: PasswordHasher = argon2idHasher,
): Roster {
  // (config.ts allows the shared store only with DATABASE_URL: the embedded database serves one process.)
  const shared = config.rateLimitStore === 'postgres' ? sharedCounterStore(database, onWarning) : undefined;
  const committedListeners = new Set<() => void>();
  const uow = new OrmUnitOfWork(database.orm, database.preparedStatements, () => {
    for (const listener of committedListeners) listener();
  });
  const passwordHashing = new BoundedHasher(hasher, {
    concurrency: config.passwordHashConcurrency ?? defaultHashConcurrency(os.availableParallelism()),
    queue: config.passwordHashQueue,
  });
  const deps = { uow, passwords: passwordHashing };
  const credentials = new CredentialService(uow, undefined, feed);
  const requestLog = requestLogOf(config, database, onWarning);
  const sequencer = EventSequencer.of(database.pool);
  const signingKeys = new SigningKeys(
    new SigningKeySqlStore(database.pool),
    config.signingKeySecret === undefined ? undefined : keyEncryptionKey(config.signingKeySecret),
  );
  return {
    config,
    database,
    users: new UserService(deps),
    groups: new GroupService(deps),
    organizations: new OrganizationService(uow),
    settings: new SettingsService(uow),
    credentials,
    signingKeys,
    setPoller: new SetPoller(new EventPollService(uow), signingKeys),
    receivers: new EventReceiverSqlStore(database.pool),
    sequencer,
    onEventsCommitted(listener) {
      committedListeners.add(listener);
      return () => committedListeners.delete(listener);
    },
    passwordHashing,
    rateLimits: createRateLimits(config, shared?.store),
    requestLog: { reader: requestLog.store, store: requestLog.store, writer: requestLog.writer },
    consoleAdmins: new ConsoleAdminService({
      store: new ConsoleAdminSqlStore(database.pool),
      uow,
      passwords: passwordHashing,
      verifier: { verify: (hash, password) => argon2.verify(hash, password) },
      idleTimeoutMs: config.consoleIdleTimeoutMinutes * 60_000,
    }),
    signInLimits: new SignInLimits(shared?.store),
    groupRoles: new GroupRoleService(uow),
    async close() {
      await feed?.stop();
      await credentials.settle();
      // The log's held entries are stored before the database goes.
      await requestLog.close();
      await shared?.close();
      // The sequencer's runs under way (a commit's, the periodic one) end before the pool does.
      await sequencer.close();
      await database.close();
    },
  };
}

/**
 * The request log's store and writer. With a server database the writer has a pool of
 * its own (at most 2 connections: a batch and a prune), so a batch never takes a
 * request's connection and an outage of its statements (bounded to 5 s) costs only
 * dropped entries. The embedded database serves one session: its pool it is.
 */
function requestLogOf(config: Config, database: Database, onWarning: (message: string) => void) {
  const oneSession = servesOneSession(database.pool);
  const writePool = database.embedded ? undefined : requestLogWritePool(database.url, onWarning);
  const store = new RequestLogSqlStore(database.pool, oneSession, writePool, database.preparedStatements);
  const writer = config.requestLog ? new RequestLogWriter({ store, retentionDays: config.requestLogDays, maxRows: config.requestLogMaxRows }) : undefined;
  return {
    store,
    writer,
    async close() {
      await writer?.stop();
      await writePool?.end();
    },
  };
}

/** The request log's own pool on PostgreSQL, so that a batch never takes a request's connection. */
export function requestLogWritePool(url: string, onWarning: (message: string) => void = () => undefined): Pool {
  const pool = new Pool({
    connectionString: url,
    max: 2,
    connectionTimeoutMillis: 2_000,
    query_timeout: 6_000,
    idleTimeoutMillis: 30_000,
  });
  // The log's batches commit without waiting for their WAL to reach the disk: a crash loses at most the last
  // moments of entries (the log already drops entries rather than slow a request), and a batch's flush no longer
  // queues beside the writes' own (docs/benchmarks.md, #14). A connection lost during a batch fails its INSERT
  // (the writer drops and counts the batch), not the process.
  asRosterConnections(pool, { statementTimeoutMs: 5_000, settings: { synchronous_commit: 'off' }, onWarning });
  return pool;
}

/**
 * ROSTER_BOOTSTRAP_TOKEN: organization `default` exists, and a credential with
 * exactly this secret exists for it (Api User, Organization Administrator).
 */
export async function ensureBootstrap(roster: Roster, secret: string): Promise<'created' | 'present' | 'revoked'> {
  const org = await roster.organizations.ensure(DEFAULT_ORGANIZATION, 'Default organization');
  const { credential, created } = await roster.credentials.ensure(org.id, secret, 'bootstrap');
  if (created) return 'created';
  return credential.revokedAt ? 'revoked' : 'present';
}

/** The SETs' `iss`: the SCIM base URL at ROSTER_PUBLIC_URL, else at localhost on `port`. */
export function eventIssuer(config: Config, port: number): string {
  return `${config.publicBaseUrl ?? `http://localhost:${port}`}/scim/v2`;
}

/** The push delivery worker of this roster (src/events/delivery.ts); started by main.ts, by tests with faster options. */
export function deliveryWorker(roster: Roster, port: number, options: Partial<DeliveryOptions> = {}): DeliveryWorker {
  const worker = new DeliveryWorker({
    store: roster.receivers,
    keys: roster.signingKeys,
    issuer: eventIssuer(roster.config, port),
    allowPrivate: roster.config.receiversAllowPrivate,
    retentionDays: roster.config.eventRetentionDays,
    ...options,
  });
  // A committed write with events wakes the worker at once (the poll still finds other instances' events).
  roster.onEventsCommitted(() => worker.wake());
  return worker;
}
