/**
 * Power cycles of the built service on lazyfs: load (power-load.ts), a cut at a random moment
 * (lazyfs drops every unsynced byte and the service is SIGKILLed in the same instant: a power cut
 * stops both), remount, then the checks, then the service restarted on the same data dir takes
 * the next cycle's load. Used by test/power-loss.test.ts and bench/power-loss.ts.
 *
 * After every cut, before the service touches the files again: a copy of each shard file (with
 * its WAL) passes `PRAGMA quick_check` and its counters agree with its rows. After the restart:
 * /health 200; /stats agrees with the stored events (received = unique + duplicates, unique =
 * stored); no event stored twice; no key ever answered "stored" while it was already acknowledged.
 * Acknowledged events missing after the cut are the loss: the caller decides whether that may be
 * more than 0 (`--sync interval` within its window, `normal`) or not (the default, `full`).
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { allEvents, getJson, publish, stats } from './http-client.js';
import type { LazyFs } from './lazyfs.js';
import { keyOf, PowerLoad } from './power-load.js';
import { startServer, type Server } from './server.js';
import { makeTempDir, removeTempDir } from './temp-dirs.js';
import { waitFor } from './wait.js';

/** What `--sync interval` may lose past its interval on lazyfs (a FUSE file system in Python): one commit and one fsync. */
export const kIntervalSlackMs = 250;

export interface PowerCycleOptions {
  /** `--sync`; null: the service's default (full). */
  readonly sync: 'full' | 'interval' | 'normal' | null;
  /** `--sync-interval-ms`, with `sync: 'interval'`. */
  readonly syncIntervalMs?: number;
  readonly cycles: number;
  /** A cut comes after 1 to this many more acknowledged requests (default 120). */
  readonly maxRequestsBeforeCut?: number;
  readonly shards?: number;
  readonly clients?: number;
  /** A pause after each answer per client, ms (default 0: full load). */
  readonly pauseMs?: number;
  /** Seeded randomness: the moments, the batches, the torn pages. */
  readonly random: () => number;
  /** Every other cut is torn (a random half of the cached pages reaches the disk) unless false. */
  readonly torn?: boolean;
  readonly onCycle?: (report: CycleReport) => void;
}

export interface CycleReport {
  readonly cycle: number;
  readonly torn: boolean;
  /** Acknowledged events (distinct keys) held before this cut, and of them lost in it. */
  readonly acknowledged: number;
  readonly lost: number;
  /** How long before the cut the oldest and the newest lost event were acknowledged, ms (null: none lost). */
  readonly oldestLostMs: number | null;
  readonly newestLostMs: number | null;
  /** Requests in flight at the cut (their answers never came or came as errors). */
  readonly inFlight: number;
  /** Unsynced bytes lazyfs dropped (4 KiB pages: data and the -shm index), and of them written by a torn cut. */
  readonly droppedBytes: number;
  readonly tornBytes: number;
  /** How long the service took to restart (listening) on the remounted dir, ms. */
  readonly restartMs: number;
}

export interface PowerRunReport {
  readonly cycles: CycleReport[];
  readonly acknowledgedRequests: number;
  readonly unacknowledgedRequests: number;
  /** Distinct events sent over the run, and the distinct events acknowledged. */
  readonly distinctSent: number;
  readonly acknowledgedEvents: number;
  readonly lost: number;
  /** Events a consumer tailing /events across the cuts never got (its cursor skipped them), and events it got that a cut then lost. */
  readonly skippedByTailer: number;
  readonly seenThenLost: number;
}

/**
 * A consumer tailing /events with its cursor across the cuts, as a real one would: it reads to
 * the end before each cut and goes on from the same cursor after the restart. A cursor must never
 * skip an event: seqs come from a durably reserved range, so none it saw is handed out again after
 * a cut. Under `--sync interval` or `normal` a cut can lose events it already saw.
 */
class Tailer {
  readonly seen = new Set<string>();
  #cursor: string | null = null;

  async catchUp(url: string): Promise<void> {
    for (;;) {
      const page = await getJson(`${url}/events?limit=1000${this.#cursor ? `&after=${this.#cursor}` : ''}`);
      assert.equal(page.status, 200, `/events: ${JSON.stringify(page.body)}`);
      for (const item of page.body.events) this.seen.add(keyOf(item));
      if (page.body.count === 0) return;
      this.#cursor = page.body.next;
    }
  }
}

/** Runs `options.cycles` power cycles; the mount is the caller's, and is left mounted (maybe remounted) in `mount.fs`. */
export async function runPowerCycles(mount: { fs: LazyFs }, options: PowerCycleOptions): Promise<PowerRunReport> {
  const dataDir = join(mount.fs.mountPoint, 'data');
  const shards = options.shards ?? 2;
  const syncArgs = options.sync === null ? [] : ['--sync', options.sync, ...(options.syncIntervalMs === undefined ? [] : ['--sync-interval-ms', String(options.syncIntervalMs)])];
  const start = (): Promise<Server> => startServer({ dataDir, shards, args: [...syncArgs, '--min-free-bytes', '0'], timeoutMs: 60_000 });
  const load = new PowerLoad(options.random, { clients: options.clients ?? 4, pauseMs: options.pauseMs ?? 0 });
  const reports: CycleReport[] = [];
  const everAcknowledged = new Set<string>();
  const tailer = new Tailer();
  const seenThenLost = new Set<string>();
  let server: Server | null = await start();
  load.url = server.url;
  load.start();
  try {
    for (let cycle = 0; cycle < options.cycles; cycle++) {
      load.cycle = cycle;
      const cutAfter = load.acknowledgedRequests + 1 + Math.floor(options.random() * (options.maxRequestsBeforeCut ?? 120));
      await waitFor(async () => load.acknowledgedRequests >= cutAfter, `cycle ${cycle}: ${cutAfter} acknowledged requests`, 120_000);
      // The cut: the disk and the process stop together. Under --sync full a 200 that arrives
      // after this instant counts too: it waited for an fsync, which lazyfs answered before the cut.
      const torn = options.torn !== false && cycle % 2 === 1;
      await tailer.catchUp(server.url); // while the load goes on
      load.url = null;
      const inFlight = load.inFlight;
      const cutAt = performance.now();
      const [crash] = await Promise.all([mount.fs.crash(torn ? Math.floor(options.random() * 2 ** 31) : undefined), server.crash()]);
      server = null;
      await waitFor(async () => load.inFlight === 0, 'the requests in flight at the cut to end', 30_000);
      for (const key of load.acknowledged.keys()) everAcknowledged.add(key);

      mount.fs = await mount.fs.remount();
      await checkShardFiles(join(mount.fs.backing, 'data'), `cycle ${cycle}`);
      const restartAt = performance.now();
      server = await start();
      const restartMs = performance.now() - restartAt;
      const stored = await checkService(server.url, `cycle ${cycle}`);
      const lost = [...load.acknowledged].filter(([key]) => !stored.has(key));
      for (const key of tailer.seen) if (!stored.has(key)) seenThenLost.add(key);
      const ages = lost.map(([, acknowledgement]) => cutAt - acknowledgement.at);
      reports.push({
        cycle,
        torn,
        acknowledged: load.acknowledged.size,
        lost: lost.length,
        oldestLostMs: ages.length > 0 ? Math.max(...ages) : null,
        newestLostMs: ages.length > 0 ? Math.min(...ages) : null,
        inFlight,
        droppedBytes: crash.dropped_bytes,
        tornBytes: crash.torn_bytes,
        restartMs,
      });
      options.onCycle?.(reports.at(-1)!);
      load.forget(lost.map(([key]) => key));
      assert.deepEqual(load.storedTwice, [], `cycle ${cycle}: keys answered "stored" while already acknowledged (counted unique twice)`);
      load.url = server.url;
    }
    await load.stop();
    // Every event ever sent once more: each distinct one ends stored and counted unique exactly once.
    const everything = [...load.sent.values()];
    for (let offset = 0; offset < everything.length; offset += 500) {
      assert.equal((await publish(server!.url, everything.slice(offset, offset + 500))).status, 200);
    }
    const final = await stats(server!.url);
    assert.equal(final.unique_processed, load.sent.size, 'after re-publishing everything: unique == distinct events sent');
    const stored = await checkService(server!.url, 'at the end');
    assert.equal(stored.size, load.sent.size);
    await tailer.catchUp(server!.url);
    return {
      cycles: reports,
      acknowledgedRequests: load.acknowledgedRequests,
      unacknowledgedRequests: load.unacknowledgedRequests,
      distinctSent: load.sent.size,
      acknowledgedEvents: everAcknowledged.size,
      lost: reports.reduce((sum, report) => sum + report.lost, 0),
      skippedByTailer: [...stored].filter((key) => !tailer.seen.has(key)).length,
      seenThenLost: seenThenLost.size,
    };
  } finally {
    await load.stop();
    await server?.stop();
  }
}

/** /health, /stats against the rows, nothing stored twice; returns the stored keys. */
export async function checkService(url: string, label: string): Promise<Set<string>> {
  assert.equal((await getJson(`${url}/health`)).status, 200, `${label}: /health after the restart`);
  const events = await allEvents(url);
  const keys = new Set(events.map(keyOf));
  assert.equal(keys.size, events.length, `${label}: an event is stored twice`);
  const counts = await stats(url);
  assert.equal(counts.received, counts.unique_processed + counts.duplicate_dropped, `${label}: received != unique + duplicates`);
  assert.equal(counts.unique_processed, events.length, `${label}: unique_processed != events stored`);
  assert.equal(counts.stored, events.length, `${label}: stored != events served`);
  return keys;
}

/**
 * Each shard file as the cut left it, checked on a copy (the service's own open must be the first
 * to recover it): SQLite's quick_check, and the counters the service reports agree with the rows.
 */
export async function checkShardFiles(dataDir: string, label: string): Promise<void> {
  const copy = await makeTempDir('power-check-');
  try {
    for (const name of readdirSync(dataDir).filter((file) => /^shard-\d+\.db$/.test(file))) {
      copyFileSync(join(dataDir, name), join(copy, name));
      if (existsSync(join(dataDir, `${name}-wal`))) copyFileSync(join(dataDir, `${name}-wal`), join(copy, `${name}-wal`));
      const db = new Database(join(copy, name));
      try {
        assert.equal(db.pragma('quick_check', { simple: true }), 'ok', `${label}: ${name} fails quick_check`);
        const counters = db.prepare('SELECT received, unique_processed, duplicate_dropped FROM counters').get() as Record<string, number>;
        const rows = db.prepare('SELECT count(*) FROM events').pluck().get() as number;
        const topics = db.prepare('SELECT sum(received) AS received, sum(unique_count) AS unique_count, sum(duplicates) AS duplicates FROM topics').get() as Record<string, number | null>;
        assert.equal(counters.received, counters.unique_processed! + counters.duplicate_dropped!, `${label}: ${name}: received != unique + duplicates`);
        assert.equal(counters.unique_processed, rows, `${label}: ${name}: unique_processed != rows`);
        assert.equal(topics.unique_count ?? 0, rows, `${label}: ${name}: the topics' unique counts != rows`);
        assert.equal(topics.received ?? 0, counters.received, `${label}: ${name}: the topics' received != received`);
      } finally {
        db.close();
      }
    }
  } finally {
    await removeTempDir(copy);
  }
}
