import { parseArgs } from 'node:util';

export interface BenchOptions {
  readonly help: boolean;
  readonly durationS: number;
  readonly quick: boolean;
  /** Scenario names to run, or null for all. */
  readonly only: readonly string[] | null;
  readonly shards: number;
  /** Rows the store-limit baseline inserts. */
  readonly storeEvents: number;
  /** Write bench/results/<date>.json (off with --no-save, e.g. from the test). */
  readonly save: boolean;
  /** scaling-size also fills to 1e7 stored events (takes minutes). */
  readonly big: boolean;
  /** Run every service process with --cpu-prof and summarise the profiles. */
  readonly profile: boolean;
}

export const usage = `Usage: npm run bench -- [options]
  --duration <s>       seconds per wrk scenario (default 10)
  --quick              2 s per wrk scenario, 50k-row store baseline, short micro benchmarks, scaling-size
                       only to 1e5 events (< 60 s in all); wrk scenarios skipped if wrk is missing
  --only <a,b,...>     run only these scenarios
  --shards <n>         shards of the service under test (default 2; scaling-shards uses 1, 2 and 4)
  --big                scaling-size also fills to 1e7 and 1e8 stored events (tens of minutes, ~15 GB of disk)
  --profile            run the service with --cpu-prof; profiles in bench/results/profiles/<date>/,
                       top self-time frames printed at the end
  --no-save            do not write bench/results/<date>.json
  --help               print this text`;

/** Parses the command line; throws an Error with a readable message on bad input. */
export function parseBenchArgs(argv: readonly string[], scenarioNames: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    allowNegative: true,
    options: {
      help: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      duration: { type: 'string' },
      only: { type: 'string' },
      shards: { type: 'string', default: '2' },
      big: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      save: { type: 'boolean', default: true },
    },
  });
  const quick = values.quick === true;
  const durationS = values.duration === undefined ? (quick ? 2 : 10) : Number(values.duration);
  if (!Number.isFinite(durationS) || durationS <= 0 || durationS > 3600) throw new Error(`--duration must be a number of seconds in (0, 3600], got ${values.duration}`);
  const shards = Number(values.shards);
  if (!Number.isInteger(shards) || shards < 1 || shards > 256) throw new Error(`--shards must be an integer in [1, 256], got ${values.shards}`);
  let only: string[] | null = null;
  if (values.only !== undefined) {
    only = values.only.split(',').map((name) => name.trim()).filter(Boolean);
    const unknown = only.filter((name) => !scenarioNames.includes(name));
    if (unknown.length > 0 || only.length === 0) throw new Error(`--only takes names from ${scenarioNames.join(', ')}; got ${values.only}`);
  }
  return {
    help: values.help === true,
    durationS,
    quick,
    only,
    shards,
    storeEvents: quick ? 50_000 : 500_000,
    save: values.save !== false,
    big: values.big === true,
    profile: values.profile === true,
  };
}
