/**
 * Scale-out (`--replicas`) against full replication and a single node, in one run, everything on
 * this machine (needs nats-server and wrk; not part of `npm run bench`):
 *   node --import tsx bench/cluster-scale.ts [--seconds 10] [--shards 8]
 *
 *   1. a single node (the shards all local): batch-1000 (wrk -c4) and single events (wrk -c64);
 *      /events first pages, sequential: the local read (again at the end, beside the idle cluster);
 *   2. full replication: 3 nats-server + 2 aggregators, --replicas 2 (every node holds every shard);
 *   3. scale-out: 3 nats-server + 4 aggregators, --replicas 2, plus one router (--hold-shards off).
 *      The loads split over the 4; then per node: the share of the stored events its files hold;
 *      the router's /events first pages (every part asked over NATS).
 * All on the same 2 cores: more processes do not bring more CPU, so the cluster rows measure the
 * cost of the design, not what more machines would give (docs/CLUSTER.md has that arithmetic).
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startAggregatorCluster, type AggregatorCluster } from '../harness/aggregator-cluster.js';
import { killTrackedChildren } from '../harness/children.js';
import { startServer } from '../harness/server.js';
import { readCpuSeconds } from '../harness/proc.js';
import { makeTempDir, removeTempDirsSync } from '../harness/temp-dirs.js';
import { waitFor } from '../harness/wait.js';
import { publishLua } from './lib/paths.js';
import { requireWrk, runWrk } from './lib/wrk.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, shards: { type: 'string', default: '8' } } });
const seconds = Number(values.seconds);
const shards = Number(values.shards);
const wrk = requireWrk();

interface Rate {
  readonly eventsPerSecond: number;
  readonly requestsPerSecond: number;
  readonly non200: number;
  /** CPU the service's processes (NATS servers and aggregators, not wrk) spent per acknowledged event, µs. */
  readonly cpuMicrosPerEvent: number;
}

/** One wrk per URL at once, the connections split between them; rates summed; `pids`: the processes whose CPU counts. */
async function load(urls: readonly string[], batch: number, connections: number, prefix: string, pids: readonly number[]): Promise<Rate> {
  const cpu = (): number => pids.reduce((sum, pid) => sum + (readCpuSeconds(pid) ?? 0), 0);
  const cpuBefore = cpu();
  const runs = await Promise.all(urls.map((url, index) => runWrk(wrk, { url, script: publishLua, threads: 1, connections: Math.max(1, Math.round(connections / urls.length)), durationS: seconds, env: { BATCH: String(batch), DUPLICATES: '0.2', ID_PREFIX: `${prefix}${index}-` } })));
  const requestsPerSecond = runs.reduce((sum, { summary }) => sum + ((summary.status_200 ?? summary.requests) / summary.duration_us) * 1e6, 0);
  const non200 = runs.reduce((sum, { summary }) => sum + (summary.status_503 ?? 0) + (summary.status_other ?? 0) + summary.errors_status, 0);
  const events = runs.reduce((sum, { summary }) => sum + (summary.status_200 ?? summary.requests), 0) * batch;
  return { eventsPerSecond: requestsPerSecond * batch, requestsPerSecond, non200, cpuMicrosPerEvent: ((cpu() - cpuBefore) * 1e6) / Math.max(1, events) };
}

/** `count` sequential /events first pages (limit 100): p50 and p99, ms. */
async function firstPages(url: string, count = 300): Promise<{ p50: number; p99: number }> {
  const times: number[] = [];
  for (let index = 0; index < count; index++) {
    const started = performance.now();
    const response = await fetch(`${url}/events?limit=100`);
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`/events answered ${response.status}`);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(count / 2)]!, p99: times[Math.floor(count * 0.99)]! };
}

function eventRows(dataDir: string): number {
  let rows = 0;
  for (let shard = 0; shard < shards; shard++) {
    const db = new Database(join(dataDir, `shard-${String(shard).padStart(3, '0')}.db`), { readonly: true });
    rows += db.prepare('SELECT count(*) FROM events').pluck().get() as number;
    db.close();
  }
  return rows;
}

function pidsOf(cluster: AggregatorCluster): number[] {
  return [...cluster.nats.nodes.map((node) => node.child.pid!), ...cluster.nodes.map((node) => node.server!.pid)];
}

async function settled(cluster: AggregatorCluster, holders: number): Promise<void> {
  await waitFor(
    async () => {
      let held = 0;
      for (const node of cluster.nodes.slice(0, holders)) held += ((await (await fetch(`${node.url}/health`)).json()) as { cluster: { replicas: { caught_up: boolean }[] } }).cluster.replicas.filter((replica) => replica.caught_up).length;
      return held === 2 * shards;
    },
    'every shard on 2 caught-up nodes',
    120_000,
  );
}

async function unique(url: string): Promise<number> {
  let last = -1;
  for (;;) {
    const stats = (await (await fetch(`${url}/stats`)).json()) as { unique_processed: number };
    if (stats.unique_processed === last) return last;
    last = stats.unique_processed;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

const fmt = (value: number): string => Math.round(value).toLocaleString('en-US');
const lines: string[] = [`node --import tsx bench/cluster-scale.ts --seconds ${seconds} --shards ${shards}`, ''];
try {
  const single = await startServer({ dataDir: await makeTempDir('eoa-scale-bench-'), shards });
  const singleBatch = await load([single.url], 1000, 4, 'sb', [single.pid]);
  const singleOne = await load([single.url], 1, 64, 'ss', [single.pid]);
  const aloneRead = await firstPages(single.url);

  const full = await startAggregatorCluster({ nodes: 2, shards, leaseTtlMs: 15_000, args: ['--replicas', '2'] });
  const fullUrls = full.nodes.map((node) => node.url);
  const fullPids = pidsOf(full);
  const fullBatch = await load(fullUrls, 1000, 4, 'fb', fullPids);
  const fullOne = await load(fullUrls, 1, 64, 'fs', fullPids);
  await full.stop();

  const scaled = await startAggregatorCluster({ nodes: 4, shards, leaseTtlMs: 15_000, args: ['--replicas', '2'] });
  await settled(scaled, 4);
  const router = await scaled.addNode(['--hold-shards', 'off']);
  const urls = scaled.nodes.slice(0, 4).map((node) => node.url);
  const scaledPids = pidsOf(scaled);
  const scaledBatch = await load(urls, 1000, 4, 'xb', scaledPids);
  const scaledOne = await load(urls, 1, 64, 'xs', scaledPids);
  const total = await unique(urls[0]!);
  const shares = scaled.nodes.slice(0, 4).map((node) => eventRows(node.dataDir) / total);
  const routedRead = await firstPages(router.url);
  // The local read again, with the idle cluster's processes beside it, as the routed read had them.
  const localRead = await firstPages(single.url);
  await single.stop();
  await scaled.stop();

  const row = (name: string, rate: Rate, base: Rate): string => `| ${name} | ${fmt(rate.eventsPerSecond)} events/s (${fmt(rate.requestsPerSecond)} req/s, non-200 ${rate.non200}) | ${(rate.eventsPerSecond / base.eventsPerSecond).toFixed(2)}× | ${rate.cpuMicrosPerEvent.toFixed(1)} |`;
  lines.push('| load | rate | vs full replication | CPU-µs per event (NATS + aggregators) |', '|---|---|---|---|');
  lines.push(row('batch-1000: single node', singleBatch, fullBatch), row('batch-1000: 2 nodes, full replication', fullBatch, fullBatch), row('batch-1000: 4 nodes, --replicas 2', scaledBatch, fullBatch));
  lines.push(row('single event c64: single node', singleOne, fullOne), row('single event c64: 2 nodes, full replication', fullOne, fullOne), row('single event c64: 4 nodes, --replicas 2', scaledOne, fullOne));
  lines.push('', `stored events ${fmt(total)}; share each node's files hold (R/N = 0.50): ${shares.map((share) => share.toFixed(2)).join(', ')}`);
  lines.push(`/events first page (limit 100), 300 sequential: single node alone p50 ${aloneRead.p50.toFixed(2)} ms, p99 ${aloneRead.p99.toFixed(2)} ms; single node beside the idle cluster p50 ${localRead.p50.toFixed(2)} ms, p99 ${localRead.p99.toFixed(2)} ms; router holding no shard p50 ${routedRead.p50.toFixed(2)} ms, p99 ${routedRead.p99.toFixed(2)} ms (${(routedRead.p50 / localRead.p50).toFixed(2)}× the local p50, ${(routedRead.p99 / localRead.p99).toFixed(2)}× the local p99)`);
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  killTrackedChildren();
  removeTempDirsSync();
}
