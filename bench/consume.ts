/**
 * Consumer groups on the built service (dist/main.js, `--sync full`), throughput beside batch-1000
 * ingest measured in the same run. Not part of `npm run bench`:
 *   node --import tsx bench/consume.ts [--events 200000] [--runs 3] [--shards 2] [--consumers 4]
 *        [--rate 200] [--seconds 10] [--redelivery-events 20000] [--seed 1]
 *
 * Per run, on a fresh server (medians over `--runs`):
 * 1. ingest (the baseline): `--events` events into topic `t`, batch-1000 bodies written to a temp
 *    file before any server starts, posted over `--consumers` keep-alive connections (lib/log-bodies.ts,
 *    as bench/search.ts ingests): events/s to the last 200, server CPU (all threads, /proc) per event.
 * 2. consume: group `all` (start earliest), `--consumers` loops of fetch (max 100, wait_ms 1000) →
 *    ack every id, until each event was acked: events/s, × the run's ingest (goal ≥ 0.5), CPU-µs/event.
 *    Then group `split` over the same events, in phases of ≤ 50 000: fetch them all (none acked),
 *    then ack them all (100 ids per call): the server CPU per message of each, the ack's share apart.
 * Once, on fresh servers:
 * 3. latency: group `lat` (start latest), one consumer long-polling (max 100, wait_ms 5000; its acks
 *    not awaited before the next fetch); single events at `--rate` for `--seconds`, open loop, each
 *    carrying its send time: received − sent (publish, durable commit, wake-up, delivery). Goal p50 ≤ 5 ms.
 * 4. redelivery: `--redelivery-events` events, ack_wait_ms 1000, backoff_ms [0], max_deliver 100 (none
 *    dead-lettered), each delivery failing with p = 0.1 (nak, delay_ms 0), else acked: deliveries, the
 *    group's redelivered count, time, and every message id (and event id) answered "acked" exactly once.
 * Output: SYSTEM, the command, RUN lines (per run), BENCH lines (the table's rows), one SUMMARY JSON
 * line, the table and the goals. Exit 1: a check failed (a missed goal is only reported).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { killTrackedChildren } from '../harness/children.js';
import { ackMessages, fetchMessages, groupCall } from '../harness/groups.js';
import { getJson, publish } from '../harness/http-client.js';
import { readCpuSeconds, readHostBusySeconds } from '../harness/proc.js';
import { makeTempDir, removeTempDirs, removeTempDirsSync } from '../harness/temp-dirs.js';
import { mulberry32 } from '../src/publisher/generate.js';
import { batchBody } from './lib/events.js';
import { publishBodies, type BodyFile } from './lib/log-bodies.js';
import { benchLine, detail, fixed, integer, table, type Column, type RatedResult } from './lib/report.js';
import { startService, type RunningProcess } from './lib/server.js';
import { systemInfo } from './lib/system.js';

const flags = ['events', 'runs', 'shards', 'consumers', 'rate', 'seconds', 'redelivery-events', 'seed'] as const;
const defaults: Record<(typeof flags)[number], string> = { events: '200000', runs: '3', shards: '2', consumers: '4', rate: '200', seconds: '10', 'redelivery-events': '20000', seed: '1' };
const { values } = parseArgs({ options: Object.fromEntries(flags.map((flag) => [flag, { type: 'string', default: defaults[flag] }])) as Record<(typeof flags)[number], { type: 'string'; default: string }> });
const [events, runs, shards, consumers, rate, seconds, redeliveryEvents, seed] = flags.map((flag) => {
  const value = Number(values[flag]);
  if (!Number.isInteger(value) || value < (flag === 'seed' ? 0 : 1)) throw new Error(`--${flag} must be a positive integer, got ${values[flag]}`);
  return value;
}) as [number, number, number, number, number, number, number, number];

const kTopic = 't';
const kBatch = 1000;
/** Messages the `split` group holds at once (its max_pending): fetched all, then acked all. */
const kPhase = 50_000;
const kFailure = 0.1;
/** A consume loop that acks nothing new for this long has stalled (a message dead-lettered, a lost ack). */
const kAcksInFlight = 2;
const kStallMs = 60_000;
const kGoalRatio = 0.5;
const kGoalP50Ms = 5;

const log = (line: string): void => void process.stderr.write(`[consume] ${line}\n`);
const print = (line: string): void => void process.stdout.write(`${line}\n`);
process.once('SIGINT', () => {
  killTrackedChildren();
  removeTempDirsSync();
  process.exit(130);
});

const cpuOf = (server: RunningProcess): number => readCpuSeconds(server.pid) ?? Number.NaN;
const clockMs = (): number => performance.timeOrigin + performance.now();
const median = (numbers: readonly number[]): number => {
  const sorted = [...numbers].sort((a, b) => a - b);
  return (sorted[(sorted.length - 1) >> 1]! + sorted[sorted.length >> 1]!) / 2;
};
/** `promise`, marked handled: awaited later (Promise.all), so an early rejection is not an unhandled one meanwhile. */
const later = <T>(promise: Promise<T>): Promise<T> => (promise.catch(() => {}), promise);
/** Nearest rank. */
const percentile = (sorted: readonly number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;

/** `count` events in topic `t`, ids c-0…, as batch-1000 bodies (lib/events.ts's, the topic swapped) in a file publishBodies reads back. */
function writeBatchFile(path: string, count: number): BodyFile {
  const fd = openSync(path, 'w');
  const [offsets, lengths] = [[] as number[], [] as number[]];
  let offset = 0;
  try {
    for (let first = 0; first < count; first += kBatch) {
      const body = Buffer.from(`${batchBody(first, Math.min(kBatch, count - first), 'c-').replace(/"topic":"[^"]*"/g, `"topic":"${kTopic}"`)}\n`);
      writeSync(fd, body);
      [offsets[offsets.length], lengths[lengths.length]] = [offset, body.length - 1];
      offset += body.length;
    }
  } finally {
    closeSync(fd);
  }
  return { path, events: count, batch: kBatch, offsets, lengths, minMs: 0, maxMs: 0 };
}

/** Publishes a body file; throws unless the server then holds exactly its events. */
async function ingest(server: RunningProcess, file: BodyFile): Promise<{ seconds: number; cpuS: number; retries: number }> {
  const cpu = cpuOf(server);
  const published = await publishBodies(server.url, file, consumers);
  const cpuS = cpuOf(server) - cpu;
  const stored = (await getJson(`${server.url}/stats`)).body.unique_processed as number;
  if (stored !== file.events) throw new Error(`the server stored ${stored} of the ${file.events} events sent`);
  return { seconds: published.seconds, cpuS, retries: published.retries };
}

/**
 * Waits until the search index has caught up with the preload: indexing is ingest's deferred work,
 * done while the writers are idle, and would otherwise be billed to the consumers that follow.
 */
async function indexed(server: RunningProcess): Promise<void> {
  for (;;) {
    const shards = (await getJson(`${server.url}/stats`)).body.shard_status as { search_pending: number }[];
    if (shards.every((shard) => shard.search_pending === 0)) return;
    await sleep(100);
  }
}

async function putGroup(server: RunningProcess, name: string, body: Record<string, unknown>): Promise<void> {
  const reply = await groupCall(server.url, name, '', { topics: kTopic, start: 'earliest', ...body });
  if (reply.status !== 201) throw new Error(`PUT /groups/${name}: ${reply.status} ${JSON.stringify(reply.body)}`);
}

const groupState = async (server: RunningProcess, name: string): Promise<Record<'delivered' | 'acked' | 'redelivered' | 'dead_lettered' | 'pending' | 'lag', number>> => (await groupCall(server.url, name, '')).body.state;

/** What the consume loops saw: "acked" answers and the event id per message id; when the last was acked (performance.now(), server CPU-s). */
interface Tally { readonly acked: Map<string, number>; readonly eventOf: Map<string, string>; deliveries: number; naks: number; alreadyAcked: number; unknown: number; doneAt: number; cpuAt: number }

/** `consumers` loops of fetch → ack (or nak, with probability `failure`) until `target` ids were acked. */
async function consume(server: RunningProcess, name: string, target: number, failure: number): Promise<Tally> {
  const tally: Tally = { acked: new Map(), eventOf: new Map(), deliveries: 0, naks: 0, alreadyAcked: 0, unknown: 0, doneAt: 0, cpuAt: 0 };
  const random = mulberry32(seed);
  let progressAt = performance.now();
  const settle = async (ack: string[], nak: string[]): Promise<void> => {
    const naked = nak.length > 0 ? await groupCall(server.url, name, 'nak', { ids: nak, delay_ms: 0 }) : null;
    if (naked !== null && naked.status !== 200) throw new Error(`nak: ${naked.status} ${JSON.stringify(naked.body)}`);
    tally.naks += nak.length;
    for (const [id, status] of ack.length > 0 ? await ackMessages(server.url, name, ack) : []) {
      if (status === 'acked') {
        tally.acked.set(id, (tally.acked.get(id) ?? 0) + 1);
        progressAt = performance.now();
      } else if (status === 'already_acked') tally.alreadyAcked++;
      else tally.unknown++;
    }
    if (tally.acked.size >= target && tally.doneAt === 0) [tally.doneAt, tally.cpuAt] = [performance.now(), cpuOf(server)];
  };
  // As a consumer does (src/consumer: acks batched behind the handlers): the next fetch goes out while
  // this batch's acks are committed, with at most kAcksInFlight batches of acks outstanding per consumer.
  const loop = async (): Promise<void> => {
    const inFlight: Promise<void>[] = [];
    while (tally.acked.size < target) {
      if (performance.now() - progressAt > kStallMs) throw new Error(`${name}: no new ack for ${kStallMs} ms at ${tally.acked.size} of ${target}`);
      const messages = await fetchMessages(server.url, name, 100, 200);
      tally.deliveries += messages.length;
      const [ack, nak] = [[] as string[], [] as string[]];
      for (const message of messages) {
        tally.eventOf.set(message.id, message.event.event_id);
        (failure > 0 && random() < failure ? nak : ack).push(message.id);
      }
      if (ack.length + nak.length > 0) inFlight.push(settle(ack, nak));
      if (inFlight.length >= kAcksInFlight || messages.length === 0) await inFlight.shift();
    }
    await Promise.all(inFlight);
  };
  await Promise.all(Array.from({ length: consumers }, loop));
  return tally;
}

/** Group `split` over the same events: fetch up to kPhase messages (none acked), then ack them all; the server CPU-s of each kind of phase. */
async function phased(server: RunningProcess): Promise<{ fetchCpuS: number; ackCpuS: number }> {
  await putGroup(server, 'split', { ack_wait_ms: 3_600_000, max_pending: kPhase });
  let [fetchCpuS, ackCpuS, done] = [0, 0, 0];
  while (done < events) {
    const want = Math.min(kPhase, events - done);
    const held: string[] = [];
    let cpu = cpuOf(server);
    await Promise.all(Array.from({ length: consumers }, async () => {
      while (held.length < want) held.push(...(await fetchMessages(server.url, 'split', Math.min(100, want - held.length), 1000)).map((message) => message.id));
    }));
    [fetchCpuS, cpu] = [fetchCpuS + cpuOf(server) - cpu, cpuOf(server)];
    let next = 0;
    await Promise.all(Array.from({ length: consumers }, async () => {
      for (let from = next; from < held.length; from = next) {
        next += 100;
        const statuses = await ackMessages(server.url, 'split', held.slice(from, from + 100));
        if ([...statuses.values()].some((status) => status !== 'acked')) throw new Error('split: an ack was not "acked"');
      }
    }));
    [ackCpuS, done] = [ackCpuS + cpuOf(server) - cpu, done + held.length];
  }
  return { fetchCpuS, ackCpuS };
}

const row = (scenario: string, eventsPerS: number | null, details: Record<string, unknown>, ratio: number | null = null, p50: number | null = null, p99: number | null = null): RatedResult =>
  ({ scenario, events_per_s: eventsPerS, requests_per_s: null, p50_ms: p50, p99_ms: p99, dup_rate: null, peak_rss_mib: null, details, ratio_vs_ingest: ratio });

let failed = false;
function check(ok: boolean, what: string): void {
  if (ok) return;
  failed = true;
  print(`CHECK FAILED: ${what}`);
}

/** Measurements 1 and 2 on one fresh server. */
async function ingestThenConsume(run: number, file: BodyFile): Promise<Record<string, number>> {
  const server = await startService({ shards, sync: 'full' });
  try {
    const loaded = await ingest(server, file);
    await indexed(server);
    await putGroup(server, 'all', {});
    const [started, cpu, host, own] = [performance.now(), cpuOf(server), readHostBusySeconds() ?? 0, process.cpuUsage()];
    const tally = await consume(server, 'all', events, 0);
    const state = await groupState(server, 'all');
    check(state.acked === events && state.pending === 0 && tally.alreadyAcked === 0 && tally.unknown === 0, `run ${run}: group all ${JSON.stringify(state)}, already_acked ${tally.alreadyAcked}, unknown ${tally.unknown}`);
    const consumeS = (tally.doneAt - started) / 1000;
    const split = await phased(server);
    const ownUsed = process.cpuUsage(own); // the bench process's CPU and others': over consume and split
    const [perEvent, benchS] = [(cpuS: number): number => (cpuS * 1e6) / events, (ownUsed.user + ownUsed.system) / 1e6];
    const figures = {
      run, ingest_events_per_s: events / loaded.seconds, ingest_cpu_us_per_event: perEvent(loaded.cpuS), ingest_503s: loaded.retries,
      consume_events_per_s: events / consumeS, consume_cpu_us_per_event: perEvent(tally.cpuAt - cpu), consume_vs_ingest: loaded.seconds / consumeS,
      fetch_cpu_us_per_message: perEvent(split.fetchCpuS), ack_cpu_us_per_message: perEvent(split.ackCpuS),
      bench_cpu_s: benchS, other_cpu_s: (readHostBusySeconds() ?? 0) - host - (cpuOf(server) - cpu) - benchS,
    };
    print(`RUN ${JSON.stringify(figures)}`);
    return figures;
  } finally {
    await server.stop();
  }
}

/** Measurement 3. */
async function latency(): Promise<RatedResult> {
  const server = await startService({ shards, sync: 'full' });
  try {
    await putGroup(server, 'lat', { start: 'latest' });
    const count = rate * seconds;
    const [latencies, ackMs, acks] = [[] as number[], [] as number[], [] as Promise<void>[]];
    let [received, publishedAt] = [0, Infinity];
    const consumer = later((async () => {
      while (received < count) {
        if (performance.now() - publishedAt > kStallMs) throw new Error(`lat: ${received} of ${count} events received`);
        const messages = await fetchMessages(server.url, 'lat', 100, 5000);
        const now = clockMs();
        for (const message of messages) latencies.push(now - (message.event.payload.sent_ms as number));
        received += messages.length;
        const sent = performance.now();
        if (messages.length > 0) acks.push(later(ackMessages(server.url, 'lat', messages.map((message) => message.id)).then(() => void ackMs.push(performance.now() - sent))));
      }
    })());
    const [started, sends] = [performance.now(), [] as Promise<void>[]];
    let late = 0;
    for (let index = 0; index < count; index++) {
      const wait = started + (index * 1000) / rate - performance.now();
      if (wait > 0) await sleep(wait); // the schedule: one event every 1000 / rate ms
      else if (wait < -1) late++;
      const body = JSON.stringify([{ topic: kTopic, event_id: `l-${index}`, timestamp: new Date().toISOString(), source: 'bench', payload: { sent_ms: clockMs() } }]);
      sends.push(later(publish(server.url, body).then((reply) => {
        if (reply.status !== 200) throw new Error(`POST /publish answered ${reply.status}`);
      })));
    }
    await Promise.all(sends);
    publishedAt = performance.now();
    await consumer;
    await Promise.all(acks);
    const state = await groupState(server, 'lat');
    check(received === count && state.acked === count, `lat: received ${received}, group ${JSON.stringify(state)} of ${count}`);
    const [sorted, ackSorted] = [latencies.sort((a, b) => a - b), ackMs.sort((a, b) => a - b)];
    const details = { events: count, rate_per_s: rate, late_sends: late, ack_p50_ms: percentile(ackSorted, 0.5), ack_p99_ms: percentile(ackSorted, 0.99), max_ms: sorted.at(-1)!, goal_p50_ms: kGoalP50Ms };
    return row(`latency, ${rate}/s single events, 1 consumer`, null, details, null, percentile(sorted, 0.5), percentile(sorted, 0.99));
  } finally {
    await server.stop();
  }
}

/** Measurement 4. */
async function redelivery(file: BodyFile): Promise<RatedResult> {
  const server = await startService({ shards, sync: 'full' });
  try {
    await ingest(server, file);
    await indexed(server);
    await putGroup(server, 'retry', { ack_wait_ms: 1000, backoff_ms: [0], max_deliver: 100 });
    const started = performance.now();
    const tally = await consume(server, 'retry', redeliveryEvents, kFailure);
    const took = (tally.doneAt - started) / 1000;
    const state = await groupState(server, 'retry');
    const twice = [...tally.acked.values()].filter((count) => count !== 1).length;
    const eventIds = new Set([...tally.acked.keys()].map((id) => tally.eventOf.get(id))).size;
    const exactlyOnce = tally.acked.size === redeliveryEvents && twice === 0 && eventIds === redeliveryEvents && state.acked === redeliveryEvents;
    check(exactlyOnce && state.dead_lettered === 0 && state.pending === 0, `retry: ${tally.acked.size} ids acked (${twice} more than once), ${eventIds} event ids, group ${JSON.stringify(state)}`);
    const details = {
      events: redeliveryEvents, failure: kFailure, seconds: took, deliveries: tally.deliveries, naks: tally.naks, redelivered: state.redelivered,
      redelivery_ratio: state.redelivered / redeliveryEvents, deliveries_per_event: tally.deliveries / redeliveryEvents,
      acked_exactly_once: exactlyOnce, already_acked: tally.alreadyAcked, unknown: tally.unknown, dead_lettered: state.dead_lettered,
    };
    return row(`redelivery, ${kFailure * 100}% nak`, redeliveryEvents / took, details);
  } finally {
    await server.stop();
  }
}

print(`SYSTEM ${JSON.stringify({ ...systemInfo(null, new Date()), shards, events, runs, consumers, sync: 'full' })}`);
print(flags.reduce((line, flag) => `${line} --${flag} ${values[flag]}`, 'node --import tsx bench/consume.ts'));
try {
  const dir = await makeTempDir('eoa-consume-bodies-');
  const file = writeBatchFile(join(dir, 'bodies.ndjson'), events);
  const retryFile = writeBatchFile(join(dir, 'retry.ndjson'), redeliveryEvents);
  const perRun: Record<string, number>[] = [];
  for (let run = 1; run <= runs; run++) {
    log(`run ${run} of ${runs}: ingest ${events} events, then consume`);
    perRun.push(await ingestThenConsume(run, file));
  }
  const pick = (key: string): number => median(perRun.map((figures) => figures[key]!));
  const rows: RatedResult[] = [
    row(`ingest, batch-${kBatch}, c${consumers}`, pick('ingest_events_per_s'), { cpu_us_per_event: pick('ingest_cpu_us_per_event'), runs }, 1),
    row(`consume + ack, c${consumers}, fetch 100`, pick('consume_events_per_s'), {
      cpu_us_per_event: pick('consume_cpu_us_per_event'), fetch_cpu_us_per_message: pick('fetch_cpu_us_per_message'), ack_cpu_us_per_message: pick('ack_cpu_us_per_message'),
      run_ratios: perRun.map((figures) => figures.consume_vs_ingest), other_cpu_s: pick('other_cpu_s'), bench_cpu_s: pick('bench_cpu_s'), runs, goal_ratio: kGoalRatio,
    }, pick('consume_vs_ingest')),
  ];
  log(`latency: ${rate}/s for ${seconds} s`);
  rows.push(await latency());
  log(`redelivery: ${redeliveryEvents} events, ${kFailure * 100}% failures`);
  rows.push(await redelivery(retryFile));
  for (const result of rows) print(benchLine(result));
  const [consumeRow, latencyRow, retryRow] = [rows[1]!, rows[2]!, rows[3]!];
  const keys = ['ingest_events_per_s', 'ingest_cpu_us_per_event', 'consume_events_per_s', 'consume_vs_ingest', 'consume_cpu_us_per_event', 'fetch_cpu_us_per_message', 'ack_cpu_us_per_message'];
  const summary = { events, runs, shards, consumers, ...Object.fromEntries(keys.map((key) => [key, pick(key)])), latency_p50_ms: latencyRow.p50_ms, latency_p99_ms: latencyRow.p99_ms, redelivery: retryRow.details };
  print(`SUMMARY ${JSON.stringify(summary)}`);

  const columns: Column[] = [
    ['measurement', (r) => r.scenario],
    ['events/s', (r) => integer(r.events_per_s)],
    ['× ingest', (r) => fixed(r.ratio_vs_ingest ?? null, 2)],
    ['server CPU-µs/event', (r) => fixed(detail(r, 'cpu_us_per_event'), 1)],
    ['fetch-only / ack-only CPU-µs/msg', (r) => (detail(r, 'ack_cpu_us_per_message') === null ? '-' : `${fixed(detail(r, 'fetch_cpu_us_per_message'), 1)} / ${fixed(detail(r, 'ack_cpu_us_per_message'), 1)}`)],
    ['p50 / p99 ms', (r) => (r.p50_ms === null ? '-' : `${fixed(r.p50_ms, 2)} / ${fixed(r.p99_ms, 2)}`)],
  ];
  const retry = (key: string): string => integer(detail(retryRow, key));
  print(`\n${events.toLocaleString('en-US')} events, ${shards} shards, --sync full, ${consumers} publishers / consumers; ingest and consume: medians of ${runs} run(s), each on a fresh server\n`);
  print(`${table(columns, rows)}\n`);
  const ratio = consumeRow.ratio_vs_ingest!;
  print(`goal consume + ack ≥ ${kGoalRatio}× ingest: ${fixed(ratio, 2)}× (runs ${(consumeRow.details.run_ratios as number[]).map((each) => each.toFixed(2)).join(', ')}) ${ratio >= kGoalRatio ? 'met' : 'NOT met'}`);
  print(`goal latency p50 ≤ ${kGoalP50Ms} ms: ${fixed(latencyRow.p50_ms, 2)} ms ${latencyRow.p50_ms! <= kGoalP50Ms ? 'met' : 'NOT met'} (p99 ${fixed(latencyRow.p99_ms, 2)} ms, max ${fixed(detail(latencyRow, 'max_ms'), 1)} ms; ack round trip p50 ${fixed(detail(latencyRow, 'ack_p50_ms'), 2)} ms; ${detail(latencyRow, 'late_sends')} sends > 1 ms late)`);
  print(`redelivery: ${retry('events')} events in ${fixed(detail(retryRow, 'seconds'), 1)} s, ${retry('deliveries')} deliveries (${fixed(detail(retryRow, 'deliveries_per_event'), 3)} per event), ${retry('naks')} naks, redelivered ${retry('redelivered')} (${fixed(detail(retryRow, 'redelivery_ratio'), 3)} per event), already_acked ${retry('already_acked')}, dead-lettered ${retry('dead_lettered')}; every event acked exactly once: ${retryRow.details.acked_exactly_once ? 'yes' : 'NO'}`);
} finally {
  killTrackedChildren();
  await removeTempDirs();
}
if (failed) process.exitCode = 1;
