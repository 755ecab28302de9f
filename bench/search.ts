/**
 * Search on the built service (issue 24; spec/search.md, "Measure"), every figure beside a
 * brute-force baseline from the same run. Not part of `npm run bench`:
 *   node --import tsx bench/search.ts [--events 10000000] [--shards 4] [--connections 4] [--batch 1000]
 *        [--rounds 4] [--runs 30] [--brute-runs 3] [--seed 1]
 *
 * 1. `--events` seeded log events (lib/log-lines.ts: Zipf vocabulary, ids, levels, 20 services, a
 *    24 h span; one planted rare word per 10^6 events) are written as batch bodies to a temp file
 *    first (lib/log-bodies.ts), so generating them is in no measured window.
 * 2. Server A (default indexing) and server B (`--search-index off`), same shards, own temp data
 *    dirs, get the same bodies over `--connections` keep-alive connections, in `--rounds` slices
 *    of the file, A and B taking turns to go first (so other work on a shared machine hits both
 *    alike; each round's ratio is printed). Ingest: wall time until the last 200, events/s, and
 *    the server process's CPU (all threads, /proc/<pid>/stat) per event. A indexes behind its
 *    commits when its rings are idle; what is left at its last 200 of a round is timed apart
 *    before the other server starts: /stats polled until every shard's search_pending is 0 (the
 *    wall time and A's CPU meanwhile, summed over rounds), so A's indexing never runs beside B.
 * 3. Both stop with SIGTERM (each shard writer checkpoints and truncates its WAL as it closes);
 *    bytes per event = the shard files (shard-*.db and any -wal left) ÷ events.
 * 4. A restarts on its data dir; each query is timed over HTTP (a warm-up, then `--runs`
 *    sequential requests; p99 = nearest rank), then answered `--brute-runs` times by scanning A's
 *    shard files read-only in this process (lib/search-brute.ts), and the answers are compared.
 * Output: SYSTEM, the command, ROUND, CHECK and BENCH lines, then the tables. Exit 1: an answer was
 * partial or differed from the baseline's (a missed goal is only reported).
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { killTrackedChildren } from '../harness/children.js';
import { getJson } from '../harness/http-client.js';
import { readCpuSeconds, readHostBusySeconds } from '../harness/proc.js';
import { startServer, type Server } from '../harness/server.js';
import { makeTempDir, removeTempDir, removeTempDirs, removeTempDirsSync } from '../harness/temp-dirs.js';
import { waitFor } from '../harness/wait.js';
import { eventsIn, publishBodies, wordWithShare, writeBodies, type BodyFile } from './lib/log-bodies.js';
import type { LogLineOptions } from './lib/log-lines.js';
import { benchLine, fixed, integer, table, type Column, type RatedResult } from './lib/report.js';
import { BruteForce, shardFiles } from './lib/search-brute.js';
import { systemInfo } from './lib/system.js';

const flags = ['events', 'shards', 'connections', 'batch', 'rounds', 'runs', 'brute-runs', 'seed'] as const;
const defaults: Record<(typeof flags)[number], string> = { events: '10000000', shards: '4', connections: '4', batch: '1000', rounds: '4', runs: '30', 'brute-runs': '3', seed: '1' };
const { values } = parseArgs({ options: Object.fromEntries(flags.map((flag) => [flag, { type: 'string', default: defaults[flag] }])) as Record<(typeof flags)[number], { type: 'string'; default: string }> });
const [events, shards, connections, batch, rounds, runs, bruteRuns, seed] = flags.map((flag) => {
  const value = Number(values[flag]);
  if (!Number.isInteger(value) || value < (flag === 'seed' ? 0 : 1)) throw new Error(`--${flag} must be a positive integer, got ${values[flag]}`);
  return value;
}) as [number, number, number, number, number, number, number, number];

const kRareWord = 'quetzalcoatlus';
/** Planted once per this many events: "a word that occurs once in 10^6 events". */
const kRareEvery = 1_000_000;
const kPair = ['connection', 'timeout'] as const;
const kFieldWord = 'failed';
const kLevel = 'error';
const kCommon = 'completed';
/** The top query's word matches about this share of events: ~10^6 matches in 10^7. */
const kTopShare = 0.1;
const kTopField = 'service';
const kBuckets = 60;
/** Opening and closing a shard file of 10^7 events takes a while (a checkpoint as it closes). */
const kServerTimeoutMs = 300_000;

const log = (line: string): void => void process.stderr.write(`[search] ${line}\n`);
const print = (line: string): void => void process.stdout.write(`${line}\n`);
process.once('SIGINT', () => {
  killTrackedChildren();
  removeTempDirsSync();
  process.exit(130);
});

/** Sums over rounds: seconds of ingest, server CPU-s, 503s, other processes' CPU-s; catch-up seconds and CPU-s. */
interface Tally {
  seconds: number;
  cpuS: number;
  retries: number;
  otherCpuS: number;
  catchUpS: number;
  catchUpCpuS: number;
  pendingAtEnd: number;
}
const newTally = (): Tally => ({ seconds: 0, cpuS: 0, retries: 0, otherCpuS: 0, catchUpS: 0, catchUpCpuS: 0, pendingAtEnd: 0 });

const serverCpu = (server: Server): number => readCpuSeconds(server.pid) ?? Number.NaN;
const searchPending = async (server: Server): Promise<number> =>
  ((await getJson(`${server.url}/stats`)).body.shard_status as { search_pending: number }[]).reduce((sum, shard) => sum + shard.search_pending, 0);

/** Publishes bodies [from, to) to `server` and adds what it took to `tally`; with `catchUp`, then waits for the index. */
async function ingestSlice(server: Server, file: BodyFile, from: number, to: number, tally: Tally, catchUp: boolean): Promise<number> {
  const [cpu, host, own] = [serverCpu(server), readHostBusySeconds() ?? 0, process.cpuUsage()];
  const published = await publishBodies(server.url, file, connections, from, to);
  const serverS = serverCpu(server) - cpu;
  const ownUsed = process.cpuUsage(own);
  tally.seconds += published.seconds;
  tally.cpuS += serverS;
  tally.retries += published.retries;
  tally.otherCpuS += (readHostBusySeconds() ?? 0) - host - serverS - (ownUsed.user + ownUsed.system) / 1e6;
  const stored = (await getJson(`${server.url}/stats`)).body.unique_processed as number;
  if (stored !== eventsIn(file, 0, to)) throw new Error(`${server.url} stored ${stored} of the ${eventsIn(file, 0, to)} events sent`);
  if (catchUp) {
    tally.pendingAtEnd += await searchPending(server);
    const [cpuBefore, started] = [serverCpu(server), performance.now()];
    await waitFor(async () => (await searchPending(server)) === 0, 'every shard search_pending 0', { timeoutMs: 24 * 3600_000, intervalMs: 100 });
    tally.catchUpS += (performance.now() - started) / 1000;
    tally.catchUpCpuS += serverCpu(server) - cpuBefore;
  }
  return published.seconds;
}

/** The shard files' bytes (any -wal included) after a clean stop. */
function shardBytes(dataDir: string): { bytes: number; walBytes: number } {
  let [bytes, walBytes] = [0, 0];
  for (const path of shardFiles(dataDir)) {
    bytes += statSync(path).size;
    const wal = statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0; // none: the checkpoint at close removed it
    [bytes, walBytes] = [bytes + wal, walBytes + wal];
  }
  return { bytes, walBytes };
}

async function stopCleanly(server: Server): Promise<void> {
  const exit = await server.stop('SIGTERM', kServerTimeoutMs);
  if (exit.timedOut || exit.code !== 0) throw new Error(`server ${server.pid} ended with ${exit.timedOut ? 'SIGKILL after the timeout' : (exit.code ?? exit.signal)}\n${server.tail()}`);
}

const percentiles = (times: number[]): { p50: number; p99: number } => {
  times.sort((a, b) => a - b);
  const at = (q: number): number => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)]!;
  return { p50: at(0.5), p99: at(0.99) };
};

/** One warm-up request, then `runs` sequential ones, each timed to its last byte; partial if any answer was. */
async function timeHttp(url: string): Promise<{ p50: number; p99: number; answer: any; partial: boolean }> {
  const times: number[] = [];
  let answer: any;
  let partial = false;
  for (let run = 0; run <= runs; run++) {
    const started = performance.now();
    // The brute-force baseline before this blocks the loop for seconds: the server may have closed the idle keep-alive socket meanwhile, which the warm-up finds.
    const response = await fetch(url).catch((error: unknown) => {
      if (run === 0) return fetch(url);
      throw error;
    });
    const text = await response.text();
    if (run > 0) times.push(performance.now() - started);
    if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}: ${text}`);
    answer = JSON.parse(text);
    partial ||= answer.partial === true;
  }
  return { ...percentiles(times), answer, partial };
}

function timeBrute(run: () => unknown): { p50: number; p99: number; answer: unknown } {
  const times: number[] = [];
  let answer: unknown;
  for (let index = 0; index < bruteRuns; index++) {
    const started = performance.now();
    answer = run();
    times.push(performance.now() - started);
  }
  return { ...percentiles(times), answer };
}

interface Figure {
  readonly name: string;
  readonly path: string;
  /** The spec's bound on p99, ms. */
  readonly goalMs: number;
  readonly brute: () => unknown;
  /** The events the answer counts, and the answer's parts to compare with the baseline's. */
  readonly served: (answer: any) => { matches: number; compared: unknown };
  readonly expected: (baseline: any) => unknown;
}

function figures(sinceMs: number, untilMs: number, topWord: string, brute: BruteForce): Figure[] {
  const seqs = (answer: any): unknown => answer.events.map((event: { seq: number }) => event.seq);
  const page = (answer: any) => ({ matches: answer.count as number, compared: seqs(answer) });
  const rows = (rowList: { seq: number }[]): unknown => rowList.map((row) => row.seq);
  // The rare word's page must hold every planted event: ceil(events / 10^6) of them.
  const planted = Math.min(100, Math.ceil(events / kRareEvery));
  const range = `since=${new Date(sinceMs).toISOString()}&until=${new Date(untilMs).toISOString()}`;
  return [
    {
      name: 'rare word, first page',
      path: `/search?q=${kRareWord}`,
      goalMs: 50,
      brute: () => brute.page([kRareWord], 100),
      served: (answer) => ({ matches: answer.count, compared: [answer.count, seqs(answer)] }),
      expected: (rowList) => [planted, rows(rowList)],
    },
    { name: 'two common words, first page', path: `/search?q=${encodeURIComponent(kPair.join(' '))}`, goalMs: 50, brute: () => brute.page(kPair, 100), served: page, expected: rows },
    { name: 'level:error + word, first page', path: `/search?q=${encodeURIComponent(`level:${kLevel} ${kFieldWord}`)}`, goalMs: 50, brute: () => brute.page([kFieldWord], 100, kLevel), served: page, expected: rows },
    {
      name: `histogram of a common word, ${kBuckets} buckets`,
      path: `/search/histogram?q=${kCommon}&${range}&buckets=${kBuckets}`,
      goalMs: 1000,
      brute: () => brute.histogram(kCommon, sinceMs, untilMs, kBuckets),
      served: (answer) => ({ matches: answer.total, compared: answer.buckets.map((bucket: { count: number }) => bucket.count) }),
      expected: (counts) => counts,
    },
    {
      name: `top 10 payload.${kTopField}`,
      path: `/search/top?field=payload.${kTopField}&q=${topWord}`,
      goalMs: 1000,
      brute: () => brute.top(topWord, kTopField),
      served: (answer) => ({ matches: answer.total, compared: [answer.total, answer.values.map((each: { value: string; count: number }) => [each.value, each.count])] }),
      expected: (top) => [top.total, top.values],
    },
  ];
}

print(`SYSTEM ${JSON.stringify({ ...systemInfo(null, new Date()), shards, events, connections, rounds })}`);
print(flags.reduce((line, flag) => `${line} --${flag} ${values[flag]}`, 'node --import tsx bench/search.ts'));
let failed = false;
try {
  const options: LogLineOptions = { seed, count: events, rareWord: kRareWord, rareEvery: kRareEvery };
  const bodiesDir = await makeTempDir('eoa-search-bodies-');
  const started = performance.now();
  const file = writeBodies(join(bodiesDir, 'bodies.ndjson'), options, batch);
  const top = wordWithShare(options, kTopShare, 50_000);
  log(`${events} events in ${file.offsets.length} bodies, written in ${((performance.now() - started) / 1000).toFixed(1)} s; top word "${top.word}" (${(top.sampleShare * 100).toFixed(1)} % of the first events)`);

  const a = await startServer({ dataDir: await makeTempDir('eoa-search-a-'), shards, timeoutMs: kServerTimeoutMs });
  const b = await startServer({ dataDir: await makeTempDir('eoa-search-b-'), shards, args: ['--search-index', 'off'], timeoutMs: kServerTimeoutMs });
  const [on, off] = [newTally(), newTally()];
  const roundRatios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const [from, to] = [Math.floor((round * file.offsets.length) / rounds), Math.floor(((round + 1) * file.offsets.length) / rounds)];
    if (from === to) continue;
    const seconds = { on: 0, off: 0 };
    for (const which of round % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
      seconds[which] = await ingestSlice(which === 'on' ? a : b, file, from, to, which === 'on' ? on : off, which === 'on');
    }
    roundRatios.push(seconds.off / seconds.on);
    print(`ROUND ${JSON.stringify({ round: round + 1, events: eventsIn(file, from, to), first: round % 2 === 0 ? 'on' : 'off', on_s: seconds.on, off_s: seconds.off, on_vs_off: seconds.off / seconds.on })}`);
  }
  await Promise.all([stopCleanly(a), stopCleanly(b)]);
  const [bytesA, bytesB] = [shardBytes(a.dataDir), shardBytes(b.dataDir)];
  await Promise.all([removeTempDir(b.dataDir), removeTempDir(bodiesDir)]);

  const server = await startServer({ dataDir: a.dataDir, shards, timeoutMs: kServerTimeoutMs });
  const brute = new BruteForce(server.dataDir);
  const rows: RatedResult[] = [];
  let indexBytes = 0;
  try {
    indexBytes = brute.indexBytes();
    for (const figure of figures(file.minMs, file.maxMs + 1, top.word, brute)) {
      log(`${figure.name}: ${figure.path}`);
      const served = await timeHttp(`${server.url}${figure.path}`);
      const baseline = timeBrute(figure.brute);
      const { matches, compared } = figure.served(served.answer);
      const agrees = JSON.stringify(compared) === JSON.stringify(figure.expected(baseline.answer));
      failed ||= !agrees || served.partial;
      print(`CHECK ${JSON.stringify({ figure: figure.name, partial: served.partial, agrees, ...(agrees ? {} : { served: compared, baseline: figure.expected(baseline.answer) }) })}`);
      const goalMet = agrees && !served.partial && served.p99 <= figure.goalMs;
      const details = { path: figure.path, matches, partial: served.partial, agrees, goal_p99_ms: figure.goalMs, goal_met: goalMet, runs, baseline_p50_ms: baseline.p50, baseline_p99_ms: baseline.p99, brute_runs: bruteRuns };
      rows.push({ scenario: figure.name, events_per_s: null, requests_per_s: null, p50_ms: served.p50, p99_ms: served.p99, dup_rate: null, peak_rss_mib: null, details, ratio_vs_brute_force: served.p50 / baseline.p50 });
      print(benchLine(rows.at(-1)!));
    }
  } finally {
    brute.close();
    await stopCleanly(server);
  }

  const ingest = (name: string, tally: Tally, bytes: number, extra: Record<string, unknown>): RatedResult => ({
    scenario: `ingest, ${name}`,
    events_per_s: events / tally.seconds,
    requests_per_s: file.offsets.length / tally.seconds,
    p50_ms: null,
    p99_ms: null,
    dup_rate: null,
    peak_rss_mib: null,
    details: { seconds: tally.seconds, cpu_us_per_event: (tally.cpuS * 1e6) / events, retries_503: tally.retries, other_cpu_s: tally.otherCpuS, bytes_per_event: bytes / events, ...extra },
    ratio_vs_index_off: off.seconds / tally.seconds,
  });
  const catchUp = { catch_up_s: on.catchUpS, catch_up_cpu_us_per_event: (on.catchUpCpuS * 1e6) / events, pending_at_end: on.pendingAtEnd };
  const ingests = [
    ingest('index on (default)', on, bytesA.bytes, { ...catchUp, wal_bytes: bytesA.walBytes, index_bytes_per_event: indexBytes / events, round_ratios: roundRatios }),
    ingest('index off', off, bytesB.bytes, { wal_bytes: bytesB.walBytes }),
  ];
  for (const result of ingests) print(benchLine(result));

  const detail = (result: RatedResult, key: string): number => result.details[key] as number;
  const ms = (value: number | null): string => (value === null ? '-' : value < 10 ? value.toFixed(2) : value.toFixed(0));
  const queryColumns: Column[] = [
    ['figure', (r) => r.scenario],
    ['matches', (r) => integer(detail(r, 'matches'))],
    ['p50 ms', (r) => ms(r.p50_ms)],
    ['p99 ms', (r) => ms(r.p99_ms)],
    ['goal: p99', (r) => `≤ ${detail(r, 'goal_p99_ms')} ms ${r.details.goal_met ? 'yes' : 'NO'}`],
    ['partial', (r) => (r.details.partial ? 'YES' : 'no')],
    ['= baseline', (r) => (r.details.agrees ? 'yes' : 'NO')],
    ['baseline p50 ms', (r) => ms(detail(r, 'baseline_p50_ms'))],
    ['p50 ÷ baseline', (r) => (r.ratio_vs_brute_force! < 0.01 ? r.ratio_vs_brute_force!.toExponential(1) : fixed(r.ratio_vs_brute_force!, 3))],
  ];
  const ingestColumns: Column[] = [
    [`ingest, batch-${batch}, c${connections}`, (r) => r.scenario.slice('ingest, '.length)],
    ['events/s', (r) => integer(r.events_per_s)],
    ['× index off', (r) => fixed(r.ratio_vs_index_off!, 2)],
    ['server CPU-µs/event', (r) => fixed(detail(r, 'cpu_us_per_event'), 2)],
    ['wall s', (r) => fixed(detail(r, 'seconds'), 1)],
    ['503s', (r) => integer(detail(r, 'retries_503'))],
    ['bytes/event', (r) => integer(detail(r, 'bytes_per_event'))],
    ['other processes CPU-s', (r) => fixed(detail(r, 'other_cpu_s'), 1)],
  ];
  const ratio = off.seconds / on.seconds;
  print(`\n${events.toLocaleString('en-US')} events, ${shards} shards, ${rounds} rounds; queries on A restarted (index caught up), ${runs} runs each after a warm-up; baseline ${bruteRuns} runs, one thread, shard after shard\n`);
  print(`${table(queryColumns, rows)}\n\n${table(ingestColumns, ingests)}\n`);
  print(
    `index on ÷ off: events/s ${fixed(ratio, 2)}× (goal ≥ 0.7 ${ratio >= 0.7 ? 'yes' : 'NO'}; rounds ${roundRatios.map((each) => each.toFixed(2)).join(', ')}), ` +
      `server CPU-µs/event ${fixed(on.cpuS / off.cpuS, 2)}×\n` +
      `index catch-up after the last 200s: ${fixed(on.catchUpS, 1)} s, ${fixed(catchUp.catch_up_cpu_us_per_event, 2)} CPU-µs/event (${integer(on.pendingAtEnd)} events pending); ` +
      `ingest + catch-up ${fixed(((on.cpuS + on.catchUpCpuS) * 1e6) / events, 2)} CPU-µs/event against ${fixed((off.cpuS * 1e6) / events, 2)}\n` +
      `bytes/event after a clean stop: ${integer(bytesA.bytes / events)} with the index (its tables ${integer(indexBytes / events)}), ${integer(bytesB.bytes / events)} without (WAL left: ${bytesA.walBytes + bytesB.walBytes} bytes)\n` +
      `top word "${top.word}"; histogram from ${new Date(file.minMs).toISOString()} to ${new Date(file.maxMs + 1).toISOString()} (every event's timestamp)`,
  );
} finally {
  killTrackedChildren();
  await removeTempDirs();
}
if (failed) process.exitCode = 1;
