/**
 * What power-safe acknowledgements cost: the built service under each `--sync` mode, side by side
 * in one run, each mode rated against `normal` (crash-only, the old default) from the same run.
 * Not part of `npm run bench` (it takes rounds × modes × 4 loads of wrk):
 *   node --import tsx bench/durability.ts [--rounds 2] [--seconds 10] [--modes full,normal,interval] [--shards 2]
 *        [--writer-fsync-entry <dist/main.js of a build before issue 22>] [--before-entry <dist/main.js of any earlier build>]
 *        [--loads batch-1000-c8,single-c64,single-c4,single-paced]
 *
 * Per round, per load, per mode (a fresh server in a fresh temp dir each time):
 *   batch-1000-c8  wrk -t1 -c8, 1000 events per request;
 *   single-c64     wrk -t1 -c64, one event per request (the peak single-event rate);
 *   single-c4      wrk -t1 -c4: few requests in flight, so little for a group fsync to share;
 *   single-paced   0.4 × that mode's single-c64 rate of the same round, on an open-loop schedule.
 * The modes run interleaved (and in a rotated order each round) so that whatever else the machine
 * does hits them all alike; the table shows medians over rounds, and each ratio is the median of
 * the per-round ratios against `normal` of the same round and load (paired, so a round crowded by
 * other work moves both sides), with their range. Where the build exports
 * aggregator_wal_sync_duration_seconds, /metrics at the end of each run gives the fdatasyncs of
 * the shards' WALs: how many, how long, and how many commits shared each.
 * A run that fails (a server that would not start: dist/ rebuilt meanwhile) is logged and retried once.
 * Output: SYSTEM (with an fdatasync probe of the temp dir's disk), BENCH lines after each round,
 * FDATASYNC after each round, then the table and the goals. Exit 2: wrk missing; 1: a run failed.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { killTrackedChildren } from '../harness/children.js';
import { removeTempDirsSync } from '../harness/temp-dirs.js';
import { fdatasyncLatency } from './lib/disk.js';
import { distMain, publishLua } from './lib/paths.js';
import { benchLine, detail, fixed, integer, ratioKey, table, type Column, type RatedResult, type Result } from './lib/report.js';
import { startService } from './lib/server.js';
import { systemInfo } from './lib/system.js';
import { requireWrk, wrkVersion } from './lib/wrk.js';
import { loadResult, runServiceLoad } from './scenarios/service-load.js';

/**
 * `writer-fsync`: another build's `--sync full`, where the writer fsyncs inside each commit (SQLite
 * synchronous=FULL): the design the syncer replaced. `before`: any earlier build's `--sync full`,
 * for an A/B of a change against the commit before it, in the same run.
 */
const kModes = ['full', 'interval', 'normal', 'writer-fsync', 'before'] as const;
type Mode = (typeof kModes)[number];
const kBaseline: Mode = 'normal';
/** Busy but not saturated: the latency a publisher sees on a loaded service, not the queueing at the knee. */
const kPacedFraction = 0.4;
/** The full-mode goals: events/s of full ÷ normal, per load. */
const kGoals: Readonly<Record<string, number>> = { 'batch-1000-c8': 0.95, 'single-c64': 0.95, 'single-c4': 0.85 };

interface Load {
  readonly name: string;
  readonly batch: number;
  readonly connections: number;
  readonly paced?: boolean;
}
const allLoads: readonly Load[] = [
  { name: 'batch-1000-c8', batch: 1000, connections: 8 },
  { name: 'single-c64', batch: 1, connections: 64 },
  { name: 'single-c4', batch: 1, connections: 4 },
  // Twice single-c64's connections: an open-loop schedule only holds while some connection is
  // free, and a syncing mode keeps each request longer; late_sends shows whether this was enough.
  { name: 'single-paced', batch: 1, connections: 128, paced: true },
];

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '10' },
    modes: { type: 'string', default: 'full,normal,interval' },
    shards: { type: 'string', default: '2' },
    'writer-fsync-entry': { type: 'string' },
    'before-entry': { type: 'string' },
    loads: { type: 'string' },
  },
});
const writerFsyncEntry = values['writer-fsync-entry'];
const beforeEntry = values['before-entry'];
const loads = values.loads === undefined ? allLoads : allLoads.filter((load) => values.loads!.split(',').includes(load.name));
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const shards = Number(values.shards);
const modes = [...values.modes.split(',').map((mode) => mode.trim()), ...(writerFsyncEntry === undefined ? [] : ['writer-fsync']), ...(beforeEntry === undefined ? [] : ['before'])] as Mode[];
const bad = modes.filter((mode) => !kModes.includes(mode));
if (writerFsyncEntry === undefined && modes.includes('writer-fsync')) {
  process.stderr.write('--modes writer-fsync needs --writer-fsync-entry <dist/main.js of a build before issue 22>\n');
  process.exit(1);
}
if (!Number.isInteger(rounds) || rounds < 1 || !(seconds > 0) || !Number.isInteger(shards) || shards < 1 || modes.length === 0 || bad.length > 0) {
  process.stderr.write(`usage: node --import tsx bench/durability.ts [--rounds n] [--seconds s] [--modes ${kModes.join(',')}] [--shards n]\n`);
  process.exit(1);
}
const wrk = requireWrk();
if (!existsSync(distMain)) {
  process.stderr.write(`${distMain} not found: run \`npm run build\` first\n`);
  process.exit(1);
}
process.once('SIGINT', () => {
  killTrackedChildren();
  removeTempDirsSync();
  process.exit(130);
});

const log = (message: string): void => void process.stderr.write(`[durability] ${message}\n`);
const median = (numbers: readonly (number | null)[]): number | null => {
  const sorted = numbers.filter((value): value is number => value !== null).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const ratio = (value: number | null, base: number | null): number | null => (value === null || !base ? null : value / base);
/** A result rated against the baseline (events/s; none for the paced load, whose rate is set, not measured). */
const rated = (result: Result, versus: number | null): RatedResult => {
  const ratios: Record<`ratio_vs_${string}`, number | null> = { [ratioKey(kBaseline)]: versus };
  return { ...result, ...ratios };
};

/** Sums a metric's series over their labels; null when the service does not export it. */
function metric(text: string, name: string): number | null {
  const values = [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].map((match) => Number(match[1]));
  return values.length === 0 ? null : values.reduce((sum, value) => sum + value, 0);
}

/** The WAL fdatasyncs and commits a run did, from /metrics (read as the server stops: after the load settled). */
async function walSyncs(url: string): Promise<Record<string, number | null>> {
  let text = '';
  try {
    text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  } catch {
    // no figures rather than no result
  }
  const syncs = metric(text, 'aggregator_wal_sync_duration_seconds_count');
  const syncSeconds = metric(text, 'aggregator_wal_sync_duration_seconds_sum');
  const commits = metric(text, 'aggregator_commit_events_count');
  const committed = metric(text, 'aggregator_commit_events_sum');
  // The histogram's buckets are coarse (0.5, 1, 2.5, 5, 10 ms...): an upper bound for the p99, not a value.
  const buckets = [...text.matchAll(/^aggregator_wal_sync_duration_seconds_bucket\{[^}]*le="([^"]+)"[^}]*\} (\S+)$/gm)];
  const byBound = new Map<number, number>();
  for (const [, le, count] of buckets) byBound.set(Number(le), (byBound.get(Number(le)) ?? 0) + Number(count));
  const p99Bound = syncs ? ([...byBound].sort(([a], [b]) => a - b).find(([, count]) => count >= 0.99 * syncs)?.[0] ?? null) : null;
  return {
    fsyncs: syncs,
    fsync_mean_ms: syncs && syncSeconds !== null ? (syncSeconds * 1000) / syncs : null,
    fsync_p99_le_ms: p99Bound === null ? null : p99Bound * 1000,
    commits_per_fsync: syncs && commits !== null ? commits / syncs : null,
    events_per_commit: commits && committed !== null ? committed / commits : null,
  };
}

/** One load against a fresh server in `mode`; CPU per event over everything /stats says it received (duplicates are work too). */
async function measure(load: Load, mode: Mode, round: number, ratePerS: number | null): Promise<Result> {
  let syncs: Record<string, number | null> = {};
  const run = await runServiceLoad({
    wrk: wrk,
    script: publishLua,
    shards,
    batch: load.batch,
    connections: load.connections,
    durationS: seconds,
    ...(ratePerS === null ? {} : { ratePerS }),
    start: async () => {
      const other = mode === 'writer-fsync' ? writerFsyncEntry : mode === 'before' ? beforeEntry : undefined;
      const service = await startService(other === undefined ? { shards, sync: mode as 'full' | 'interval' | 'normal' } : { shards, sync: 'full', entry: other });
      return {
        ...service,
        stop: async () => {
          syncs = await walSyncs(service.url);
          return service.stop();
        },
      };
    },
  });
  const { summary } = run.wrk;
  const received = run.after.received - run.before.received;
  const cpuUsPerEvent = run.serverCpuSeconds === null || received <= 0 ? null : (run.serverCpuSeconds * 1e6) / received;
  // Only 200s count as acknowledged: a 503 or 500 under a syncing mode must not pass for throughput.
  const acknowledged = summary.status_200 ?? summary.requests - summary.errors_status;
  return loadResult(`${load.name}:${mode}`, run, acknowledged, {
    load: load.name,
    mode,
    round,
    non_200: summary.requests - acknowledged,
    cpu_us_per_event: cpuUsPerEvent,
    offered_req_per_s: ratePerS,
    late_sends: summary.late_sends ?? null,
    max_lag_ms: summary.max_lag_ms ?? null,
    ...syncs,
    fsyncs_per_s: syncs.fsyncs == null ? null : syncs.fsyncs / (summary.duration_us / 1e6),
  });
}

const date = new Date();
const probe = fdatasyncLatency(tmpdir());
process.stdout.write(`SYSTEM ${JSON.stringify({ ...systemInfo(wrkVersion(wrk), date), shards, seconds, rounds, modes, fdatasync_4k_probe: probe })}\n`);

const results: Result[] = [];
const find = (round: number, load: string, mode: Mode): Result | undefined => results.find((result) => detail(result, 'round') === round && result.details.load === load && result.details.mode === mode);
let failed = 0;
for (let round = 1; round <= rounds; round++) {
  const order = modes.map((_, index) => modes[(index + round - 1) % modes.length]!);
  for (const load of loads) {
    for (const mode of order) {
      let ratePerS: number | null = null;
      if (load.paced) {
        const peak = find(round, 'single-c64', mode)?.requests_per_s ?? null;
        if (peak === null) {
          log(`round ${round} ${load.name} ${mode}: skipped, no single-c64 peak to pace at`);
          continue;
        }
        ratePerS = Math.round(peak * kPacedFraction);
      }
      const attempt = async (): Promise<Result | null> => {
        try {
          return await measure(load, mode, round, ratePerS);
        } catch (error) {
          log(`round ${round} ${load.name} ${mode}: FAILED: ${(error as Error).stack ?? String(error)}`);
          return null;
        }
      };
      let result = await attempt();
      if (result === null) {
        await new Promise((resolve) => setTimeout(resolve, 5_000));
        result = await attempt();
      }
      if (result === null) failed++;
      else {
        results.push(result);
        const other = detail(result, 'other_cpu_s');
        log(
          `round ${round} ${load.name} ${mode}: ${integer(result.events_per_s)} events/s, ${integer(result.requests_per_s)} req/s, p50 ${fixed(result.p50_ms, 2)} ms, p99 ${fixed(result.p99_ms, 2)} ms, ` +
            `${fixed(detail(result, 'cpu_us_per_event'), 2)} CPU-µs/event, ${integer(detail(result, 'fsyncs'))} fsyncs (mean ${fixed(detail(result, 'fsync_mean_ms'), 2)} ms)` +
            `${other !== null && other > 0.25 * seconds ? `; warning: ${other} CPU-s went to other processes` : ''}`,
        );
      }
    }
  }
  for (const result of results.filter((each) => detail(each, 'round') === round)) {
    const base = find(round, String(result.details.load), kBaseline);
    const withP99 = { ...result, details: { ...result.details, p99_vs_normal: ratio(result.p99_ms, base?.p99_ms ?? null) } };
    process.stdout.write(`${benchLine(rated(withP99, result.details.load === 'single-paced' ? null : ratio(result.events_per_s, base?.events_per_s ?? null)))}\n`);
  }
  process.stdout.write(`FDATASYNC ${JSON.stringify({ round, ...fdatasyncLatency(tmpdir()) })}\n`);
}

/** Medians over rounds for one load and mode, and the medians of its per-round ratios against the baseline. */
function summarise(load: Load, mode: Mode): RatedResult | null {
  const own = results.filter((result) => result.details.load === load.name && result.details.mode === mode);
  if (own.length === 0) return null;
  const pick = (read: (result: Result) => number | null): number | null => median(own.map(read));
  const paired = (read: (result: Result) => number | null): number[] =>
    own.flatMap((result) => {
      const base = find(detail(result, 'round')!, load.name, kBaseline);
      const value = base === undefined ? null : ratio(read(result), read(base));
      return value === null ? [] : [value];
    });
  // The paced load's rate is set, not measured: only its latency compares.
  const perRound = load.paced ? [] : paired((r) => r.events_per_s);
  const medians: Result = {
    scenario: load.paced ? `${load.name} (${kPacedFraction}× c64, c${load.connections})` : load.name,
    events_per_s: pick((r) => r.events_per_s),
    requests_per_s: pick((r) => r.requests_per_s),
    p50_ms: pick((r) => r.p50_ms),
    p99_ms: pick((r) => r.p99_ms),
    dup_rate: null,
    peak_rss_mib: null,
    details: {
      mode,
      rounds: own.length,
      cpu_us_per_event: pick((r) => detail(r, 'cpu_us_per_event')),
      offered_req_per_s: pick((r) => detail(r, 'offered_req_per_s')),
      late_sends: pick((r) => detail(r, 'late_sends')),
      other_cpu_s: pick((r) => detail(r, 'other_cpu_s')),
      non_200: own.reduce((sum, r) => sum + (detail(r, 'non_200') ?? 0), 0),
      p99_vs_normal: median(paired((r) => r.p99_ms)),
      fsync_mean_ms: pick((r) => detail(r, 'fsync_mean_ms')),
      fsync_p99_le_ms: pick((r) => detail(r, 'fsync_p99_le_ms')),
      commits_per_fsync: pick((r) => detail(r, 'commits_per_fsync')),
      events_per_commit: pick((r) => detail(r, 'events_per_commit')),
      range: perRound.length === 0 ? '' : ` (${fixed(Math.min(...perRound), 2)}–${fixed(Math.max(...perRound), 2)})`,
    },
  };
  return rated(medians, median(perRound));
}

const rows = loads.flatMap((load) => modes.map((mode) => summarise(load, mode)).filter((row): row is RatedResult => row !== null));
const columns: readonly Column[] = [
  ['load', (r) => r.scenario],
  ['--sync', (r) => String(r.details.mode)],
  ['events/s', (r) => integer(r.events_per_s)],
  ['req/s', (r) => integer(r.requests_per_s)],
  ['offered req/s', (r) => integer(detail(r, 'offered_req_per_s'))],
  ['p50 ms', (r) => fixed(r.p50_ms, 2)],
  ['p99 ms', (r) => fixed(r.p99_ms, 2)],
  ['CPU µs/event', (r) => fixed(detail(r, 'cpu_us_per_event'), 2)],
  [`events/s × ${kBaseline} (rounds)`, (r) => `${fixed(r[ratioKey(kBaseline)] ?? null, 2)}${String(r.details.range)}`],
  [`p99 × ${kBaseline}`, (r) => fixed(detail(r, 'p99_vs_normal'), 2)],
  ['events/commit', (r) => fixed(detail(r, 'events_per_commit'), 1)],
  ['fsync ms mean (p99 ≤)', (r) => (detail(r, 'fsync_mean_ms') === null ? '-' : `${fixed(detail(r, 'fsync_mean_ms'), 2)} (${fixed(detail(r, 'fsync_p99_le_ms'), 1)})`)],
  ['commits/fsync', (r) => fixed(detail(r, 'commits_per_fsync'), 1)],
  ['non-200', (r) => String(r.details.non_200)],
  // CPU-s the machine gave to neither the server nor wrk per run: how much the result was crowded.
  ['other CPU-s', (r) => fixed(detail(r, 'other_cpu_s'), 1)],
];
process.stdout.write(`\nMedians over ${rounds} round(s), ${seconds} s each, ${shards} shards; × ${kBaseline}: median of the per-round ratios to ${kBaseline} (their range)\n\n${table(columns, rows)}\n\n`);
const pacedLate = rows.filter((row) => row.scenario.startsWith('single-paced')).map((row) => `${String(row.details.mode)} ${fixed(detail(row, 'late_sends'), 0)}`);
if (pacedLate.length > 0) process.stdout.write(`single-paced sends > 1 ms behind schedule (median per run): ${pacedLate.join(', ')}\n`);
for (const [load, goal] of Object.entries(kGoals)) {
  const full = rows.find((row) => row.scenario === load && row.details.mode === 'full');
  const value = full?.[ratioKey(kBaseline)] ?? null;
  process.stdout.write(`goal ${load}: full ≥ ${goal}× ${kBaseline}: ${value === null ? 'not measured' : `${value.toFixed(2)}×${String(full!.details.range)} — ${value >= goal ? 'met' : 'NOT met'}`}\n`);
}
removeTempDirsSync();
process.exitCode = failed > 0 ? 1 : 0;
