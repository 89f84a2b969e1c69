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
    ['PORT', '80a'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'localhost:5432'],
    ['ROSTER_BOOTSTRAP_TOKEN', 'short'],
    ['ROSTER_DB_POOL_MAX', '1'],
    ['ROSTER_PUBLIC_URL', 'roster.example.com'],
    ['ROSTER_TRUST_PROXY', 'perhaps'],
    ['ROSTER_DB_PREPARED_STATEMENTS', 'sometimes'],
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
