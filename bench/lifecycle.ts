/**
 * The storage lifecycle under load, on the built service (dist/main.js). Not part of
 * `npm run bench` (it fills millions of rows); run it when changing expiry:
 *   node --import tsx bench/lifecycle.ts [--events 2000000] [--seconds 15]
 *
 * 1. Expiry latency: a data dir filled with `--events` rows, then the same paced single-event
 *    load (wrk, 64 connections, 3 ms pause: single-paced) once with no retention and once with
 *    `--retention '*=<age>'` so that every filled row is due at once: p50/p99 and events/s of
 *    both, and how many rows expired during the measured window.
 * 2. Steady state: a fresh service with `--retention '*=10s'` under a constant batch load; the
 *    shard files' size every 5 s, which levels off once input and expiry balance.
 */
import { readdirSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startServer } from '../harness/server.js';
import { makeTempDir, removeTempDirsSync } from '../harness/temp-dirs.js';
import { killTrackedChildren } from '../harness/children.js';
import { fill } from './lib/fill.js';
import { publishLua } from './lib/paths.js';
import { requireWrk, runWrk } from './lib/wrk.js';

const { values } = parseArgs({ options: { events: { type: 'string', default: '2000000' }, seconds: { type: 'string', default: '15' }, shards: { type: 'string', default: '2' }, 'steady-only': { type: 'boolean', default: false } } });
const events = Number(values.events);
const seconds = Number(values.seconds);
const shards = Number(values.shards);
const wrk = requireWrk();

const log = (message: string): void => void process.stderr.write(`[lifecycle] ${message}\n`);
const stats = async (url: string): Promise<{ expired: number; stored: number; received: number }> => (await (await fetch(`${url}/stats`)).json()) as never;

/** Bytes of the named tables and indexes across the shard files (SQLite's dbstat), and the rows of the first. */
function footprint(dir: string, names: readonly string[]): { bytes: number; rows: number } {
  let bytes = 0;
  let rows = 0;
  for (const file of readdirSync(dir).filter((name) => /^shard-\d+\.db$/.test(name))) {
    const db = new Database(join(dir, file), { readonly: true });
    for (const name of names) bytes += (db.prepare('SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = ?').pluck().get(name) as number);
    rows += db.prepare(`SELECT count(*) FROM ${names[0]}`).pluck().get() as number;
    db.close();
  }
  return { bytes, rows };
}

function dirBytes(dir: string): number {
  return readdirSync(dir).filter((name) => name.startsWith('shard-')).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

async function pacedLoad(url: string, idPrefix: string): Promise<{ p50: number; p99: number; eventsPerS: number }> {
  const { summary } = await runWrk(wrk, {
    url,
    script: publishLua,
    threads: 1,
    connections: 64,
    durationS: seconds,
    env: { BATCH: '1', DUPLICATES: '0.2', PAUSE_MS: '3', ID_PREFIX: idPrefix },
  });
  return { p50: summary.p50_us / 1000, p99: summary.p99_us / 1000, eventsPerS: (summary.requests - summary.errors_status) / (summary.duration_us / 1e6) };
}

async function expiryLatency(): Promise<void> {
  const dataDir = await makeTempDir('eoa-lifecycle-');
  let server = await startServer({ dataDir, shards, args: [] });
  log(`filling ${events} events`);
  const filled = await fill(server.url, events, { prefix: 'fill-', first: 0 });
  log(`filled in ${filled.seconds.toFixed(1)} s`);
  await server.stop();
  const stored = footprint(dataDir, ['events', 'events_identity', 'events_topic_seq']);
  const age = Math.ceil(filled.seconds) + 5;
  const runs: Record<string, { p50: number; p99: number; eventsPerS: number; expired: number }> = {};
  for (const [name, args] of [['no expiry', []], [`--retention '*=${age}s'`, ['--retention', `*=${age}s`]]] as const) {
    // Every filled row is older than `age` by now: with the rule, all of them are due at once.
    server = await startServer({ dataDir, shards, args: [...args] });
    const before = await stats(server.url);
    const load = await pacedLoad(server.url, name === 'no expiry' ? 'a-' : 'b-');
    const after = await stats(server.url);
    runs[name] = { ...load, expired: after.expired - before.expired };
    if (args.length > 0) {
      // Let the rest expire, then weigh what is remembered of it.
      log('waiting for every filled row to expire');
      while ((await stats(server.url)).expired < events) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await server.stop();
  }
  const remembered = footprint(dataDir, ['retired']);
  process.stdout.write(`\nExpiry latency: ${events} rows filled, ${shards} shards, paced single events (wrk -t1 -c64, 3 ms pause), ${seconds} s each\n`);
  process.stdout.write('| run | events/s | p50 ms | p99 ms | rows expired during the run |\n|---|---|---|---|---|\n');
  for (const [name, run] of Object.entries(runs)) process.stdout.write(`| ${name} | ${Math.round(run.eventsPerS)} | ${run.p50.toFixed(2)} | ${run.p99.toFixed(2)} | ${run.expired} |\n`);
  process.stdout.write(`\nBytes per stored event (events table and both indexes, ids like fill-123456, payload {"n":…,"ok":true}): ${(stored.bytes / stored.rows).toFixed(1)}\n`);
  process.stdout.write(`Bytes per remembered key (the retired table, same ids): ${(remembered.bytes / remembered.rows).toFixed(1)} over ${remembered.rows} keys\n`);
}

async function steadyState(extra: readonly string[]): Promise<void> {
  const dataDir = await makeTempDir('eoa-lifecycle-');
  const server = await startServer({ dataDir, shards, args: ['--retention', '*=10s', ...extra] });
  const samples: string[] = [];
  let next = 0;
  let running = true;
  const feeder = (async () => {
    while (running) {
      await fill(server.url, 10_000, { prefix: 'steady-', first: next, connections: 1 });
      next += 10_000;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  const started = performance.now();
  for (let second = 5; second <= 60; second += 5) {
    await new Promise((resolve) => setTimeout(resolve, started + second * 1000 - performance.now()));
    const now = await stats(server.url);
    samples.push(`| ${second} | ${now.received} | ${now.stored} | ${now.expired} | ${(dirBytes(dataDir) / 2 ** 20).toFixed(1)} |`);
  }
  running = false;
  await feeder;
  await server.stop();
  process.stdout.write(`\nSteady state: --retention '*=10s' ${extra.join(' ')}, 10 000-event batches with 200 ms pauses, ${shards} shards\n`);
  process.stdout.write(`| s | received | stored | expired | shard files MiB |\n|---|---|---|---|---|\n${samples.join('\n')}\n`);
}

try {
  process.stdout.write(`node --import tsx bench/lifecycle.ts --events ${events} --seconds ${seconds} --shards ${shards}\n`);
  if (!values['steady-only']) await expiryLatency();
  await steadyState([]);
  await steadyState(['--forget-after', '10s']);
} finally {
  killTrackedChildren();
  removeTempDirsSync();
}
