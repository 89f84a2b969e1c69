import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/**
 * Roster's configuration, read once from the environment at start and passed down.
 * Nothing else reads process.env. A bad value stops the start with one line that
 * names the variable. The secrets may come from files instead (`DATABASE_URL_FILE`
 * and the like, as Docker and Kubernetes secrets are mounted), read here too.
 */
export interface Config {
  port: number;
  host: string;
  /** A PostgreSQL URL; undefined means the embedded PostgreSQL (PGlite) in `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  databasePoolMax: number;
  /** A token secret to make sure of at start, for organization `default`. */
  bootstrapToken: string | undefined;
  /** Public origin (scheme, host, optional path prefix) Roster is reached at; `/scim/v2` is appended. Undefined: from the request. */
  publicBaseUrl: string | undefined;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  maxBodyBytes: number;
  /**
   * Express `trust proxy`: false (the connection's address), true (every proxy: the
   * left-most X-Forwarded-For entry), or the number of proxies in front of Roster (the
   * entry the last of them added).
   */
  trustProxy: boolean | number;
  /** Requests per second each credential may make on average (0: no limit). */
  rateLimitPerSecond: number;
  /** Requests a credential may make at once before the average applies. */
  rateLimitBurst: number;
  /** Where rate-limit counters live: this process, or PostgreSQL (shared by every instance). */
  rateLimitStore: 'memory' | 'postgres';
  /** Failed token lookups a client address may cause per minute before it is refused with 429 (0: no limit). */
  authFailuresPerMinute: number;
  /** How long an idle keep-alive connection stays open, ms (above a load balancer's idle timeout). */
  keepAliveTimeoutMs: number;
  /** Password hashes (argon2id) that run at once; undefined: half the CPUs, 1 to 3. */
  passwordHashConcurrency: number | undefined;
  /** Password hashes that may wait for a turn; one more is refused (503, Retry-After). */
  passwordHashQueue: number;
  /** Longest a single SQL statement may run, ms. */
  statementTimeoutMs: number;
  /** Run statements as named prepared statements (off behind a pooler that cannot keep them). */
  preparedStatements: boolean;
  /** A bearer token /metrics requires; undefined: /metrics is open. */
  metricsToken: string | undefined;
  /** Push receivers may be http, loopback or private addresses (development and tests only). */
  receiversAllowPrivate: boolean;
  /** Days an outbox event is kept once every receiver of its organization has it. */
  eventRetentionDays: number;
  /** Minutes a console session may go unused before it ends (the administrator signs in again). */
  consoleIdleTimeoutMinutes: number;
  /** The secret the signing keys' private halves are encrypted with in the database; undefined: stored unencrypted. */
  signingKeySecret: string | undefined;
  /** The request log is on (ROSTER_REQUEST_LOG; on by default). */
  requestLog: boolean;
  /** Days a request log entry is kept. */
  requestLogDays: number;
  /** Entries each organization keeps at most (the newest). */
  requestLogMaxRows: number;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    detail: string,
  ) {
    super(`Invalid configuration: ${variable} ${detail}`);
    this.name = 'ConfigError';
  }
}

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be a whole number from ${min} to ${max}`);

const boolean = z
  .string()
  .transform((s) => s.trim().toLowerCase())
  .refine((s) => ['true', 'false', '1', '0', 'yes', 'no'].includes(s), 'must be true or false')
  .transform((s) => ['true', '1', 'yes'].includes(s));

const variables = {
  PORT: integer(0, 65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  ROSTER_DATA_DIR: z.string().min(1, 'must not be empty').default('./data'),
  ROSTER_DB_POOL_MAX: integer(2, 100).default(10),
  ROSTER_BOOTSTRAP_TOKEN: z
    .string()
    .min(32, 'must be at least 32 characters long (for example the output of `openssl rand -hex 32`)')
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
    .optional(),
  ROSTER_PUBLIC_URL: z
    .string()
    .regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, 'must be an http:// or https:// URL, e.g. https://roster.example.com')
    .transform((s) => s.replace(/\/+$/, ''))
    .optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ROSTER_MAX_BODY_BYTES: integer(1024, 64 * 1024 * 1024).default(1024 * 1024),
  ROSTER_TRUST_PROXY: z
    .string()
    .transform((s) => s.trim().toLowerCase())
    .refine((s) => ['true', 'false', 'yes', 'no', '0'].includes(s) || /^([1-9]|10)$/.test(s), 'must be true, false or a number of proxies from 1 to 10')
    .transform((s): boolean | number => (/^\d+$/.test(s) ? (s === '0' ? false : Number(s)) : ['true', 'yes'].includes(s)))
    .default(false),
  ROSTER_RATE_LIMIT_PER_SECOND: integer(0, 100_000).default(100),
  ROSTER_RATE_LIMIT_BURST: integer(1, 1_000_000).default(200),
  ROSTER_RATE_LIMIT_STORE: z.enum(['memory', 'postgres'], { error: 'must be memory or postgres' }).default('memory'),
  ROSTER_AUTH_FAILURES_PER_MINUTE: integer(0, 100_000).default(30),
  // headersTimeout is keepAlive + 1 s and must stay below Node's requestTimeout (300 s).
  ROSTER_KEEP_ALIVE_TIMEOUT_MS: integer(1_000, 290_000).default(65_000),
  ROSTER_PASSWORD_HASH_CONCURRENCY: integer(1, 64).optional(),
  ROSTER_PASSWORD_HASH_QUEUE: integer(0, 10_000).default(64),
  ROSTER_STATEMENT_TIMEOUT_MS: integer(100, 3_600_000).default(15_000),
  ROSTER_DB_PREPARED_STATEMENTS: boolean.default(true),
  ROSTER_METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters long').optional(),
  ROSTER_RECEIVERS_ALLOW_PRIVATE: boolean.default(false),
  ROSTER_EVENT_RETENTION_DAYS: integer(1, 3650).default(7),
  ROSTER_CONSOLE_IDLE_TIMEOUT_MINUTES: integer(1, 1440).default(30),
  ROSTER_SIGNING_KEY_SECRET: z.string().min(32, 'must be at least 32 characters long (for example the output of `openssl rand -hex 32`)').optional(),
  ROSTER_REQUEST_LOG: boolean.default(true),
  ROSTER_REQUEST_LOG_DAYS: integer(1, 3650).default(14),
  ROSTER_REQUEST_LOG_MAX_ROWS: integer(1_000, 100_000_000).default(100_000),
  // The secrets' files: each names a file whose content (a trailing newline dropped) is the value.
  DATABASE_URL_FILE: z.string().optional(),
  ROSTER_BOOTSTRAP_TOKEN_FILE: z.string().optional(),
  ROSTER_METRICS_TOKEN_FILE: z.string().optional(),
  ROSTER_SIGNING_KEY_SECRET_FILE: z.string().optional(),
};

/** Every environment variable Roster reads (the README's configuration table lists exactly these). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(variables);

/** The variables whose value may instead be read from the file `<name>_FILE` names; never shown in a message. */
const SECRETS = ['DATABASE_URL', 'ROSTER_BOOTSTRAP_TOKEN', 'ROSTER_METRICS_TOKEN', 'ROSTER_SIGNING_KEY_SECRET'] as const;

type Env = Record<string, string | undefined>;

/**
 * The environment with each secret given as `<name>_FILE` read from its file: the
 * content without its trailing line break(s). Both forms at once, or a file that
 * cannot be read, is a ConfigError naming the variable (never the content).
 */
function withSecretFiles(env: Env): { env: Env; fromFile: Set<string> } {
  const resolved: Env = {};
  for (const [name, value] of Object.entries(env)) resolved[name] = value === '' ? undefined : value;
  const fromFile = new Set<string>();
  for (const name of SECRETS) {
    const file = resolved[`${name}_FILE`];
    if (file === undefined) continue;
    if (resolved[name] !== undefined) throw new ConfigError(`${name}_FILE`, `and ${name} are both set: set only one of them`);
    let content: string;
    try {
      content = fs.readFileSync(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
      throw new ConfigError(`${name}_FILE`, `names a file that cannot be read (${code}: "${file}")`);
    }
    content = content.replace(/[\r\n]+$/, '');
    if (content === '') throw new ConfigError(`${name}_FILE`, `names an empty file ("${file}")`);
    resolved[name] = content;
    fromFile.add(name);
  }
  return { env: resolved, fromFile };
}

/** Parses the environment; throws ConfigError naming the first bad variable. */
export function loadConfig(given: Env = process.env): Config {
  const { env, fromFile } = withSecretFiles(given);
  const values: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(variables)) {
    const raw = env[name];
    const parsed = (schema as z.ZodType).safeParse(raw);
    if (!parsed.success) {
      const message = parsed.error.issues[0]?.message ?? 'is invalid';
      if (fromFile.has(name)) throw new ConfigError(`${name}_FILE`, `names a file whose content ${message}`);
      const secret = (SECRETS as readonly string[]).includes(name);
      const shown = raw === undefined || secret ? '' : ` (got "${raw}")`;
      throw new ConfigError(name, `${message}${shown}`);
    }
    values[name] = parsed.data;
  }
  if (values.ROSTER_RATE_LIMIT_STORE === 'postgres' && values.DATABASE_URL === undefined) {
    throw new ConfigError('ROSTER_RATE_LIMIT_STORE', 'may be postgres only with DATABASE_URL (the embedded database serves one process)');
  }
  return {
    port: values.PORT as number,
    host: values.HOST as string,
    databaseUrl: values.DATABASE_URL as string | undefined,
    dataDir: path.resolve(values.ROSTER_DATA_DIR as string),
    databasePoolMax: values.ROSTER_DB_POOL_MAX as number,
    bootstrapToken: values.ROSTER_BOOTSTRAP_TOKEN as string | undefined,
    publicBaseUrl: values.ROSTER_PUBLIC_URL as string | undefined,
    logLevel: values.LOG_LEVEL as Config['logLevel'],
    maxBodyBytes: values.ROSTER_MAX_BODY_BYTES as number,
    trustProxy: values.ROSTER_TRUST_PROXY as boolean | number,
    rateLimitPerSecond: values.ROSTER_RATE_LIMIT_PER_SECOND as number,
    rateLimitBurst: values.ROSTER_RATE_LIMIT_BURST as number,
    rateLimitStore: values.ROSTER_RATE_LIMIT_STORE as Config['rateLimitStore'],
    authFailuresPerMinute: values.ROSTER_AUTH_FAILURES_PER_MINUTE as number,
    keepAliveTimeoutMs: values.ROSTER_KEEP_ALIVE_TIMEOUT_MS as number,
    passwordHashConcurrency: values.ROSTER_PASSWORD_HASH_CONCURRENCY as number | undefined,
    passwordHashQueue: values.ROSTER_PASSWORD_HASH_QUEUE as number,
    statementTimeoutMs: values.ROSTER_STATEMENT_TIMEOUT_MS as number,
    preparedStatements: values.ROSTER_DB_PREPARED_STATEMENTS as boolean,
    metricsToken: values.ROSTER_METRICS_TOKEN as string | undefined,
    receiversAllowPrivate: values.ROSTER_RECEIVERS_ALLOW_PRIVATE as boolean,
    eventRetentionDays: values.ROSTER_EVENT_RETENTION_DAYS as number,
    consoleIdleTimeoutMinutes: values.ROSTER_CONSOLE_IDLE_TIMEOUT_MINUTES as number,
    signingKeySecret: values.ROSTER_SIGNING_KEY_SECRET as string | undefined,
    requestLog: values.ROSTER_REQUEST_LOG as boolean,
    requestLogDays: values.ROSTER_REQUEST_LOG_DAYS as number,
    requestLogMaxRows: values.ROSTER_REQUEST_LOG_MAX_ROWS as number,
  };
}
