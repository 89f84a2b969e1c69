import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { USAGE } from '../../src/cli/usage';
import { childEnv } from '../support/processes';

const ROOT = path.resolve(__dirname, '../..');
const run = promisify(execFile);

/**
 * The compiled CLI as the Docker image runs it: `npm run build`'s output (here into a
 * temporary folder), package.json's `bin` made executable and linked onto PATH as
 * `roster`, started by its `#!/usr/bin/env node` line.
 */
describe('the compiled roster command', () => {
  let dir: string;
  let bin: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roster-build-'));
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
    await run(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', path.join(dir, 'dist'), '--incremental', 'false'], { cwd: ROOT });
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const target = path.join(dir, pkg.bin.roster);
    fs.chmodSync(target, 0o755);
    fs.mkdirSync(path.join(dir, 'bin'));
    bin = path.join(dir, 'bin');
    fs.symlinkSync(target, path.join(bin, 'roster'));
  }, 180_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const roster = (args: string[]) => {
    const env = childEnv({});
    return run('roster', args, { env: { ...env, PATH: `${bin}${path.delimiter}${path.dirname(process.execPath)}${path.delimiter}${env.PATH ?? ''}` } });
  };

  it('starts with a shebang and prints the usage on stdout for --help, -h and help, exit 0', async () => {
    expect(fs.readFileSync(path.join(bin, 'roster'), 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    for (const args of [['--help'], ['-h'], ['help']]) {
      const { stdout, stderr } = await roster(args);
      expect(stdout).toBe(`${USAGE}\n`);
      expect(stderr).toBe('');
    }
  });

  it('refuses an unknown command with the usage on stderr, exit 2', async () => {
    const refused = await roster(['frobnicate']).then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(refused).toMatchObject({ code: 2, stdout: '' });
    expect(refused?.stderr).toContain('roster: unknown command: frobnicate\n\nusage: roster <command>');
  });
});
