import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';

describe('configuration', () => {
  it('has working defaults: port 8080, embedded database in ./data', () => {
    const config = loadConfig({});
    expect(config.port).toBe(8080);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.dataDir).toBe(path.resolve('data'));
    expect(config.bootstrapToken).toBeUndefined();
    expect(config.databasePoolMax).toBe(10);
    expect(config.preparedStatements).toBe(true);
    expect(config.rateLimitStore).toBe('memory');
    expect(config.authFailuresPerMinute).toBe(30);
    expect(config.keepAliveTimeoutMs).toBe(65_000);
  });

  it('reads the limits and the keep-alive timeout', () => {
    expect(
      loadConfig({
        DATABASE_URL: 'postgres://u:p@db:5432/roster',
        ROSTER_RATE_LIMIT_STORE: 'postgres',
        ROSTER_AUTH_FAILURES_PER_MINUTE: '0',
        ROSTER_KEEP_ALIVE_TIMEOUT_MS: '120000',
      }),
    ).toMatchObject({ rateLimitStore: 'postgres', authFailuresPerMinute: 0, keepAliveTimeoutMs: 120_000 });
  });

  it('refuses the shared rate-limit store without DATABASE_URL', () => {
    expect(() => loadConfig({ ROSTER_RATE_LIMIT_STORE: 'postgres' })).toThrow(/^Invalid configuration: ROSTER_RATE_LIMIT_STORE .*DATABASE_URL/);
  });

  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '9000',
      DATABASE_URL: 'postgres://u:p@db:5432/roster',
      ROSTER_DATA_DIR: '/var/lib/roster',
      ROSTER_BOOTSTRAP_TOKEN: 'x'.repeat(32),
      ROSTER_PUBLIC_URL: 'https://roster.example.com/',
      LOG_LEVEL: 'warn',
      ROSTER_TRUST_PROXY: 'true',
      ROSTER_DB_PREPARED_STATEMENTS: 'false',
    });
    expect(config).toMatchObject({
      port: 9000,
      databaseUrl: 'postgres://u:p@db:5432/roster',
      dataDir: '/var/lib/roster',
      bootstrapToken: 'x'.repeat(32),
      publicBaseUrl: 'https://roster.example.com',
      logLevel: 'warn',
      trustProxy: true,
      preparedStatements: false,
    });
  });

  it.each([
    ['true', true],
    ['no', false],
    ['0', false],
    ['1', 1],
    ['2', 2],
  ])('reads ROSTER_TRUST_PROXY=%s as %s (a number counts the proxies in front)', (value, expected) => {
    expect(loadConfig({ ROSTER_TRUST_PROXY: value }).trustProxy).toBe(expected);
  });

  it.each([
    ['PORT', '80a'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'localhost:5432'],
    ['ROSTER_BOOTSTRAP_TOKEN', 'short'],
    ['ROSTER_DB_POOL_MAX', '1'],
    ['ROSTER_PUBLIC_URL', 'roster.example.com'],
    ['ROSTER_TRUST_PROXY', 'perhaps'],
    ['ROSTER_TRUST_PROXY', '11'],
    ['ROSTER_DB_PREPARED_STATEMENTS', 'sometimes'],
    ['ROSTER_RATE_LIMIT_STORE', 'redis'],
    ['ROSTER_AUTH_FAILURES_PER_MINUTE', '-1'],
    ['ROSTER_AUTH_FAILURES_PER_MINUTE', 'many'],
    ['ROSTER_KEEP_ALIVE_TIMEOUT_MS', '500'],
    ['ROSTER_KEEP_ALIVE_TIMEOUT_MS', '300000'],
  ])('refuses %s=%s with a message naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^Invalid configuration: ${name} `));
  });

  it('never repeats the bootstrap token in its message', () => {
    expect(() => loadConfig({ ROSTER_BOOTSTRAP_TOKEN: 'secret-but-short' })).toThrow(/^(?!.*secret-but-short)/);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: '' })).toMatchObject({ databaseUrl: undefined, port: 8080 });
  });
});

describe('secrets from files (*_FILE)', () => {
  let dir: string;
  const file = (name: string, content: string) => {
    const target = path.join(dir, name);
    fs.writeFileSync(target, content, { mode: 0o600 });
    return target;
  };
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roster-config-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads DATABASE_URL_FILE, ROSTER_BOOTSTRAP_TOKEN_FILE and ROSTER_METRICS_TOKEN_FILE, dropping the trailing newline', () => {
    const config = loadConfig({
      DATABASE_URL_FILE: file('url', 'postgres://roster:pw@db:5432/roster\n'),
      ROSTER_BOOTSTRAP_TOKEN_FILE: file('bootstrap', `${'b'.repeat(40)}\r\n`),
      ROSTER_METRICS_TOKEN_FILE: file('metrics', 'm'.repeat(20)),
    });
    expect(config).toMatchObject({
      databaseUrl: 'postgres://roster:pw@db:5432/roster',
      bootstrapToken: 'b'.repeat(40),
      metricsToken: 'm'.repeat(20),
    });
  });

  it('treats an empty *_FILE as unset, and the variable itself still works', () => {
    expect(loadConfig({ DATABASE_URL_FILE: '', DATABASE_URL: 'postgres://u@db/r' }).databaseUrl).toBe('postgres://u@db/r');
  });

  it.each(['DATABASE_URL', 'ROSTER_BOOTSTRAP_TOKEN', 'ROSTER_METRICS_TOKEN'])('refuses %s together with the same variable ending in _FILE', (name) => {
    const value = name === 'DATABASE_URL' ? 'postgres://u@db/r' : 'x'.repeat(40);
    const env = { [name]: value, [`${name}_FILE`]: file(`${name}-both`, value) };
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(`^Invalid configuration: ${name}_FILE and ${name} are both set`));
  });

  it('names the variable of a file that cannot be read, and its path', () => {
    const missing = path.join(dir, 'missing');
    expect(() => loadConfig({ ROSTER_METRICS_TOKEN_FILE: missing })).toThrow(
      `Invalid configuration: ROSTER_METRICS_TOKEN_FILE names a file that cannot be read (ENOENT: "${missing}")`,
    );
    expect(() => loadConfig({ ROSTER_METRICS_TOKEN_FILE: dir })).toThrow(
      /^Invalid configuration: ROSTER_METRICS_TOKEN_FILE names a file that cannot be read \(EISDIR/,
    );
  });

  it('refuses an empty file', () => {
    expect(() => loadConfig({ ROSTER_BOOTSTRAP_TOKEN_FILE: file('empty', '\n') })).toThrow(
      /^Invalid configuration: ROSTER_BOOTSTRAP_TOKEN_FILE names an empty file/,
    );
  });

  it('checks the content as it checks the variable, naming the file variable and never the secret', () => {
    const short = 'secret-but-short';
    const check = () => loadConfig({ ROSTER_BOOTSTRAP_TOKEN_FILE: file('short', `${short}\n`) });
    expect(check).toThrow(/^Invalid configuration: ROSTER_BOOTSTRAP_TOKEN_FILE names a file whose content must be at least 32 characters long/);
    expect(check).toThrow(/^(?!.*secret-but-short)/);
    const url = () => loadConfig({ DATABASE_URL_FILE: file('bad-url', 'mysql://root:hunter2@db/x') });
    expect(url).toThrow(/^Invalid configuration: DATABASE_URL_FILE names a file whose content must be a postgres:\/\/ or postgresql:\/\/ URL/);
    expect(url).toThrow(/^(?!.*hunter2)/);
  });
});
