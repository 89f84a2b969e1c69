/**
 * Command-line options of `npm run bench`. Everything is validated up front so a
 * typo stops the run before a database is created.
 */
export interface BenchOptions {
  users: number;
  /** The cost curve (`--sizes 100000,1000000`): seed and run at each size in turn, ascending; undefined: one size, `users`. */
  sizes: number[] | undefined;
  /** Seconds per timed scenario. */
  duration: number;
  connections: number;
  /** A database to use as it is (never dropped); undefined: a fresh one. */
  databaseUrl: string | undefined;
  /** Keep the fresh database at the end. */
  keep: boolean;
  writeDoc: boolean;
  /** Scenario numbers to run; undefined: all. */
  only: Set<number> | undefined;
  /** Seconds of the soak run (`--soak 10m`); undefined: no soak, the scenarios instead. */
  soak: number | undefined;
  /** Run the server under `node --cpu-prof` and print where its CPU time went. */
  profile: boolean;
  /** The request log on (Roster's default) or off (ROSTER_REQUEST_LOG=false), for its A/B. */
  requestLog: boolean;
  /** The command line as typed, for the report. */
  command: string;
}

/** The most users a seed may hold (10,000,000 is the largest size). */
export const MAX_USERS = 20_000_000;

export const SCENARIO_NUMBERS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] as const;

export const USAGE = `usage: npm run bench -- [options]
  --users N            users to seed (default 100000; 1000000 takes minutes)
  --sizes A,B,C        the cost curve: a fresh database per size, seeded, run and dropped in turn
                       (ascending), then one side-by-side table and docs/benchmarks-curve.svg
                       (with --write-doc); not with --users, --database-url or --soak
  --duration S         seconds per timed scenario (default 10)
  --connections C      concurrent connections (default 8)
  --database-url URL   use this database as it is (migrated, seeded if empty, never dropped);
                       default: a fresh roster_bench_<random> on the server of DATABASE_URL
                       or postgres://postgres@127.0.0.1:5432/postgres, dropped at the end
  --keep               keep the fresh database (its URL is printed)
  --write-doc          write docs/benchmarks.md
  --only 1,3           run only these scenarios (1-12; 9 starts a server of its own with the default limits;
                       10 registers a push receiver in the bench process for its run;
                       12 maps the big group to a role and removes the mapping after)
  --soak 10m           instead of the scenarios: a steady mixed load for this long (s, m or h),
                       checking for error responses and flat memory
  --profile            run the server under node --cpu-prof and print where its time went
  --request-log on|off the request log on (the default, as Roster runs) or off, for its A/B
  --help               this text`;

export class UsageError extends Error {}

function wholeNumber(name: string, text: string | undefined, min: number, max: number): number {
  if (text === undefined || !/^\d+$/.test(text)) throw new UsageError(`${name} needs a whole number from ${min} to ${max}`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`${name} must be from ${min} to ${max} (got ${text})`);
  return n;
}

export function parseOptions(argv: string[]): BenchOptions {
  const options: BenchOptions = {
    users: 100_000,
    sizes: undefined,
    duration: 10,
    connections: 8,
    databaseUrl: undefined,
    keep: false,
    writeDoc: false,
    only: undefined,
    soak: undefined,
    profile: false,
    requestLog: true,
    command: ['npm run bench --', ...argv].join(' ').replace(/ --$/, ''),
  };
  let usersGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      const next = argv[++i];
      if (next === undefined) throw new UsageError(`${flag} needs a value`);
      return next;
    };
    switch (flag) {
      case '--users':
        options.users = wholeNumber('--users', value(), 1_000, MAX_USERS);
        usersGiven = true;
        break;
      case '--sizes': {
        const list = value()
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        if (list.length < 2) throw new UsageError('--sizes needs at least two sizes, e.g. --sizes 100000,1000000');
        const sizes = [...new Set(list.map((s) => wholeNumber('--sizes', s, 1_000, MAX_USERS)))].sort((a, b) => a - b);
        if (sizes.length < 2) throw new UsageError('--sizes needs at least two different sizes');
        options.sizes = sizes;
        break;
      }
      case '--duration':
        options.duration = wholeNumber('--duration', value(), 1, 600);
        break;
      case '--connections':
        options.connections = wholeNumber('--connections', value(), 1, 256);
        break;
      case '--database-url': {
        const url = value();
        if (!/^postgres(ql)?:\/\/\S+$/.test(url)) throw new UsageError('--database-url must be a postgres:// or postgresql:// URL');
        options.databaseUrl = url;
        break;
      }
      case '--keep':
        options.keep = true;
        break;
      case '--write-doc':
        options.writeDoc = true;
        break;
      case '--profile':
        options.profile = true;
        break;
      case '--request-log': {
        const v = value();
        if (v !== 'on' && v !== 'off') throw new UsageError('--request-log takes on or off');
        options.requestLog = v === 'on';
        break;
      }
      case '--soak': {
        const match = /^(\d+)(s|m|h)?$/.exec(value());
        if (!match) throw new UsageError('--soak takes a duration such as 600, 90s, 10m or 1h');
        options.soak = Number(match[1]) * ({ s: 1, m: 60, h: 3600 } as Record<string, number>)[match[2] ?? 's'];
        if (options.soak < 10 || options.soak > 24 * 3600) throw new UsageError('--soak takes 10 s to 24 h');
        break;
      }
      case '--only': {
        const list = value()
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        if (list.length === 0) throw new UsageError('--only needs scenario numbers, e.g. --only 1,3');
        options.only = new Set(list.map((s) => wholeNumber('--only', s, 1, SCENARIO_NUMBERS.length)));
        break;
      }
      case '--help':
      case '-h':
        throw new UsageError('');
      default:
        throw new UsageError(`unknown option ${arg}`);
    }
  }
  if (options.sizes) {
    if (usersGiven) throw new UsageError('--sizes and --users exclude each other');
    if (options.databaseUrl) throw new UsageError('--sizes seeds a fresh database per size: not with --database-url');
    if (options.soak !== undefined) throw new UsageError('--sizes runs the scenarios: not with --soak');
    options.users = options.sizes[0] as number;
  }
  return options;
}
