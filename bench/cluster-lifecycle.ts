/**
 * The cluster's lifecycle costs (issue 15), everything on this machine. Not part of `npm run bench`
 * (it needs nats-server):
 *   node --import tsx bench/cluster-lifecycle.ts [--events 10000000] [--seconds 120]
 *
 *   1. snapshot of one shard holding `--events` stored events: the file built directly with ShardDb
 *      (as replicas write it), then VACUUM INTO (the snapshot), its size, the object-store put and
 *      get on a 3-node R3 cluster, and the restore into a live replica (SQLite's backup API);
 *   2. a long run: 2 aggregators (4 shards, a snapshot every 5 s) under steady load for `--seconds`,
 *      sampling every stream's retained messages and bytes against what was ever appended;
 *   3. a node joining after that run: start until it listens (it listens once caught up).
 */
import { createReadStream, createWriteStream, rmSync, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect } from 'nats';
import { ShardDb, type StoreBatch } from '../src/store/shard-db.js';
import { restoreShardFile, snapshotShardFile } from '../src/store/shard-snapshot.js';
import { SnapshotStore, type SnapshotPointer } from '../src/cluster/snapshot-store.js';
import { startAggregatorCluster, startLoad } from '../harness/aggregator-cluster.js';
import { killTrackedChildren } from '../harness/children.js';
import { logExtent, startNatsCluster } from '../harness/nats-cluster.js';
import { makeTempDir, removeTempDirsSync } from '../harness/temp-dirs.js';

const { values } = parseArgs({ options: { events: { type: 'string', default: '10000000' }, seconds: { type: 'string', default: '120' } } });
const totalEvents = Number(values.events);
const seconds = Number(values.seconds);
const fmt = (value: number): string => Math.round(value).toLocaleString('en-US');
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const lines: string[] = [`node --import tsx bench/cluster-lifecycle.ts --events ${totalEvents} --seconds ${seconds}`];

/** One shard file of `count` events in log order, 10 000 per log message, as a replica writes them. */
function buildShard(path: string, count: number): number {
  const started = performance.now();
  const db = new ShardDb({ path, shard: 0, shardCount: 1 });
  const perMessage = 10_000;
  const receivedAt = Date.now();
  for (let first = 0, logSeq = 1; first < count; first += perMessage, logSeq++) {
    const events = Array.from({ length: Math.min(perMessage, count - first) }, (_, offset) => {
      const n = first + offset;
      return { seq: n + 1, topic: `svc.${n % 16}`, eventId: `evt-${n}`, timestamp: '2026-12-01T10:30:00.000Z', source: `host-${n % 50}`, payload: `{"level":"info","msg":"request served","status":200,"ms":${n % 977},"path":"/api/v1/items/${n}"}` };
    });
    const batch: StoreBatch = { receivedAt, rejected: 0, wantsStatuses: false, events, logSeq, logClock: first + events.length };
    db.commit([batch]);
  }
  db.close();
  return performance.now() - started;
}

/** Runs `work`, sampling the JS heap and buffers every 50 ms: how far above the start they went (RSS hides reuse of freed pages). */
async function peakMemory<T>(work: () => Promise<T>): Promise<{ value: T; peak: number }> {
  const used = (): number => {
    const memory = process.memoryUsage();
    return memory.heapUsed + memory.external;
  };
  const start = used();
  let peak = start;
  const sampler = setInterval(() => (peak = Math.max(peak, used())), 50);
  try {
    const value = await work();
    return { value, peak: Math.max(peak, used()) - start };
  } finally {
    clearInterval(sampler);
  }
}

async function timed<T>(run: () => Promise<T> | T): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await run();
  return { value, ms: performance.now() - started };
}

try {
  // 1. One big shard's snapshot, end to end.
  const dir = await makeTempDir('eoa-lifecycle-');
  const live = join(dir, 'shard-000.db');
  const buildMs = buildShard(live, totalEvents);
  const liveBytes = statSync(live).size;
  const snapshotFile = join(dir, 'snapshot.db');
  const vacuum = await timed(() => snapshotShardFile(live, snapshotFile));
  const nats = await startNatsCluster(3);
  const nc = await connect({ servers: nats.urls.split(',') });
  const store = await SnapshotStore.open(nc.jetstream(), await nc.jetstreamManager(), 3);
  const put = await timed(() => store.upload('shard-0-bench', snapshotFile));
  const pointer: SnapshotPointer = { object: 'shard-0-bench', seq: vacuum.value.log.seq, clock: vacuum.value.log.clock, bytes: vacuum.value.bytes, epoch: 0, node: 'bench', takenAt: new Date().toISOString(), previous: null };
  // Baseline, same run: nats.js's own put of a 256 MiB prefix against ours, with the memory each held at its peak.
  const prefix = join(dir, 'prefix.bin');
  await pipeline(createReadStream(snapshotFile, { end: Math.min(256 * 2 ** 20, vacuum.value.bytes) - 1 }), createWriteStream(prefix));
  const objects = await nc.jetstream().views.os('agg_snapshots');
  const baseline = await peakMemory(() => timed(() => objects.put({ name: 'baseline-nats-js' }, Readable.toWeb(createReadStream(prefix)) as unknown as ReadableStream<Uint8Array>)));
  const ours = await peakMemory(() => timed(() => store.upload('baseline-ours', prefix)));
  const prefixBytes = statSync(prefix).size;
  const downloaded = join(dir, 'downloaded.db');
  const get = await timed(() => store.download(pointer, downloaded));
  const replica = join(dir, 'replica.db');
  new ShardDb({ path: replica, shard: 0, shardCount: 1 }).close();
  const restore = await timed(() => restoreShardFile(downloaded, replica));
  await nc.close();
  await nats.stop();
  rmSync(dir, { recursive: true, force: true });
  const rate = (bytes: number, ms: number): string => `${((bytes / 2 ** 20) / (ms / 1000)).toFixed(1)} MiB/s`;
  lines.push('', `### Snapshot of one shard with ${fmt(totalEvents)} stored events (file built in ${fmt(buildMs / 1000)} s: ${mib(liveBytes)})`, '', '| step | time | size / rate |', '|---|---|---|');
  lines.push(`| VACUUM INTO (the snapshot, in a reader thread in the service) | ${fmt(vacuum.ms)} ms | ${mib(vacuum.value.bytes)} |`);
  lines.push(`| object store put (R3, 3 local nats-server) | ${fmt(put.ms)} ms | ${rate(vacuum.value.bytes, put.ms)} |`);
  lines.push(`| — same-run baseline, ${mib(prefixBytes)}: nats.js \`ObjectStore.put\` (every chunk in flight) | ${fmt(baseline.value.ms)} ms | ${rate(prefixBytes, baseline.value.ms)}, peak heap + buffers +${mib(baseline.peak)} |`);
  lines.push(`| — same bytes, ours (32 chunks in flight) | ${fmt(ours.value.ms)} ms | ${rate(prefixBytes, ours.value.ms)}, peak heap + buffers +${mib(ours.peak)} |`);
  lines.push(`| object store get (digest checked) | ${fmt(get.ms)} ms | ${rate(vacuum.value.bytes, get.ms)} |`);
  lines.push(`| restore into a live replica (backup API, one transaction) | ${fmt(restore.ms)} ms | ${rate(vacuum.value.bytes, restore.ms)} |`);

  // 2. A long run with snapshots and purges: the logs stay bounded.
  const cluster = await startAggregatorCluster({ nodes: 2, shards: 4, leaseTtlMs: 15_000, args: ['--snapshot-interval-ms', '5000'] });
  const load = startLoad({ targets: () => cluster.nodes.map((node) => node.url), concurrency: 4, batch: 100, keySpace: 1e12, prefix: 'long' });
  const samples: { at: number; retained: number; bytes: number; appended: number }[] = [];
  const sample = async (): Promise<void> => {
    const extents = await Promise.all([0, 1, 2, 3].map((shard) => logExtent(cluster.nats, `AGG_${shard}`)));
    samples.push({ at: performance.now(), retained: extents.reduce((sum, extent) => sum + extent.messages, 0), bytes: extents.reduce((sum, extent) => sum + extent.bytes, 0), appended: extents.reduce((sum, extent) => sum + extent.last, 0) });
  };
  const startedRun = performance.now();
  while (performance.now() - startedRun < seconds * 1000) {
    await new Promise((resolve) => setTimeout(resolve, 5000));
    await sample();
  }
  const record = await load.stop();
  const acknowledgedEvents = record.acknowledged * 100;
  const last = samples.at(-1)!;
  const peak = samples.reduce((max, entry) => (entry.bytes > max.bytes ? entry : max), samples[0]!);
  const half = samples[Math.floor(samples.length / 2)]!;
  lines.push('', `### ${seconds} s of steady load, snapshot every 5 s (2 nodes, 4 shards, batch 100 × 4 publishers)`, '', '| | messages appended (all shards) | messages retained | bytes retained |', '|---|---|---|---|');
  lines.push(`| half-way | ${fmt(half.appended)} | ${fmt(half.retained)} | ${mib(half.bytes)} |`);
  lines.push(`| end | ${fmt(last.appended)} | ${fmt(last.retained)} | ${mib(last.bytes)} |`);
  lines.push(`| peak retained | | ${fmt(peak.retained)} | ${mib(peak.bytes)} |`);
  lines.push('', `${fmt(acknowledgedEvents)} events acknowledged (${fmt(acknowledgedEvents / seconds)}/s), ${record.failed} requests failed.`);

  // 3. A node joining after all that.
  const join3 = await timed(() => cluster.addNode());
  const health = (await (await fetch(`${join3.value.url}/health`)).json()) as { cluster: { replicas: { restored: number }[] } };
  lines.push('', `A third node joining with an empty data dir: listening (every shard caught up) after ${fmt(join3.ms)} ms; shards restored from a snapshot: ${health.cluster.replicas.filter((entry) => entry.restored > 0).length} of 4.`);
  await cluster.stop();
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  killTrackedChildren();
  removeTempDirsSync();
}
