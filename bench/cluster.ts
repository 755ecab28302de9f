/**
 * Cluster mode against the single node, in one run, everything on this machine. Not part of
 * `npm run bench` (it needs nats-server):
 *   node --import tsx bench/cluster.ts [--seconds 10]
 *
 *   1. embedded: a 4-shard single node, batch-1000 (wrk -t1 -c4) and single-c64 (wrk -t1 -c64);
 *   2. cluster: 3 nats-server + 2 aggregators (4 shards), the same loads split over both nodes
 *      (one wrk per node, half the connections each), summed;
 *   3. stalls: publishers (4 × 20 events) on the surviving node while the shard owner is killed
 *      with -9, then while a shard stream's NATS leader is: the longest time between two
 *      acknowledgements, and the longest time the survivor's watermark (what readers see) stood still.
 */
import { parseArgs } from 'node:util';
import { startAggregatorCluster, startLoad, type AggregatorNode } from '../harness/aggregator-cluster.js';
import { killTrackedChildren } from '../harness/children.js';
import { startServer } from '../harness/server.js';
import { makeTempDir, removeTempDirsSync } from '../harness/temp-dirs.js';
import { publishLua } from './lib/paths.js';
import { requireWrk, runWrk, type WrkSummary } from './lib/wrk.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' } } });
const seconds = Number(values.seconds);
const wrk = requireWrk();

interface LoadResult {
  readonly requestsPerSecond: number;
  readonly eventsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non200: number;
}

/** One wrk per URL at once, the connections split between them; their rates summed, the worst latencies kept. */
async function load(urls: readonly string[], batch: number, connections: number, prefix: string): Promise<LoadResult> {
  const runs = await Promise.all(
    urls.map((url, index) => runWrk(wrk, { url, script: publishLua, threads: 1, connections: connections / urls.length, durationS: seconds, env: { BATCH: String(batch), DUPLICATES: '0.2', ID_PREFIX: `${prefix}${index}-` } })),
  );
  const summaries: WrkSummary[] = runs.map((run) => run.summary);
  const requestsPerSecond = summaries.reduce((sum, summary) => sum + ((summary.status_200 ?? summary.requests) / summary.duration_us) * 1e6, 0);
  return {
    requestsPerSecond,
    eventsPerSecond: requestsPerSecond * batch,
    p50Ms: Math.max(...summaries.map((summary) => summary.p50_us)) / 1000,
    p99Ms: Math.max(...summaries.map((summary) => summary.p99_us)) / 1000,
    non200: summaries.reduce((sum, summary) => sum + (summary.status_503 ?? 0) + (summary.status_other ?? 0) + summary.errors_status, 0),
  };
}

/** Load on `survivor` while `fault` runs: the longest gap between acknowledgements and between watermark moves. */
async function stall(survivor: AggregatorNode, fault: () => Promise<void>, recover: () => Promise<void>): Promise<{ writeMs: number; readMs: number; acknowledged: number; failed: number }> {
  const run = startLoad({ targets: () => [survivor.url], concurrency: 4, batch: 20, keySpace: 1_000_000, prefix: `stall${Date.now()}` });
  let lastMark = -1;
  let lastMove = performance.now();
  let readMs = 0;
  let watching = true;
  const watch = (async () => {
    while (watching) {
      const mark = ((await (await fetch(`${survivor.url}/stats`)).json()) as { watermark_seq: number }).watermark_seq;
      const now = performance.now();
      if (mark !== lastMark) {
        if (lastMark >= 0) readMs = Math.max(readMs, now - lastMove);
        lastMark = mark;
        lastMove = now;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 3000));
  await fault();
  await new Promise((resolve) => setTimeout(resolve, 15_000));
  const record = await run.stop();
  watching = false;
  await watch;
  await recover();
  return { writeMs: record.longestGapMs, readMs, acknowledged: record.acknowledged, failed: record.failed };
}

const fmt = (value: number): string => Math.round(value).toLocaleString('en-US');
const lines: string[] = [`node --import tsx bench/cluster.ts --seconds ${seconds}`];
try {
  const single = await startServer({ dataDir: await makeTempDir('eoa-cluster-bench-'), shards: 4 });
  const embeddedBatch = await load([single.url], 1000, 4, 'eb');
  const embeddedSingle = await load([single.url], 1, 64, 'es');
  await single.stop();

  const cluster = await startAggregatorCluster({ nodes: 2, shards: 4, leaseTtlMs: 15_000 });
  const urls = cluster.nodes.map((node) => node.url);
  const clusterBatch = await load(urls, 1000, 4, 'cb');
  const clusterSingle = await load(urls, 1, 64, 'cs');
  const row = (name: string, embedded: LoadResult, clustered: LoadResult): string =>
    `| ${name} | ${fmt(embedded.eventsPerSecond)} events/s (${fmt(embedded.requestsPerSecond)} req/s), p99 ${embedded.p99Ms.toFixed(1)} ms | ${fmt(clustered.eventsPerSecond)} events/s (${fmt(clustered.requestsPerSecond)} req/s), p50 ${clustered.p50Ms.toFixed(1)} ms, p99 ${clustered.p99Ms.toFixed(1)} ms, non-200 ${clustered.non200} | ${(clustered.eventsPerSecond / embedded.eventsPerSecond).toFixed(2)}× |`;
  lines.push('', '| load | single node (4 shards) | cluster (3 NATS + 2 nodes, 4 shards) | cluster / single |', '|---|---|---|---|');
  lines.push(row('batch-1000, c4', embeddedBatch, clusterBatch), row('single event, c64', embeddedSingle, clusterSingle));

  const health = async (node: AggregatorNode): Promise<number[]> => ((await (await fetch(`${node.url}/health`)).json()) as { cluster: { owned: number[] } }).cluster.owned;
  const owner = (await health(cluster.nodes[0]!)).length > 0 ? cluster.nodes[0]! : cluster.nodes[1]!;
  const survivor = owner === cluster.nodes[0] ? cluster.nodes[1]! : cluster.nodes[0]!;
  const ownerLoss = await stall(survivor, () => owner.crash(), () => owner.start());
  const leaderName = await cluster.nats.electedLeader('AGG_0');
  const leader = cluster.nats.nodes.find((node) => node.name === leaderName)!;
  const leaderLoss = await stall(survivor, () => leader.crash(), () => leader.start());
  lines.push('', '| fault (kill -9), load on the other node | longest gap between acknowledgements | longest watermark standstill | acknowledged / failed requests |', '|---|---|---|---|');
  lines.push(`| the shards' owner (an aggregator) | ${fmt(ownerLoss.writeMs)} ms | ${fmt(ownerLoss.readMs)} ms | ${ownerLoss.acknowledged} / ${ownerLoss.failed} |`);
  lines.push(`| the NATS leader of AGG_0 | ${fmt(leaderLoss.writeMs)} ms | ${fmt(leaderLoss.readMs)} ms | ${leaderLoss.acknowledged} / ${leaderLoss.failed} |`);
  await cluster.stop();
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  killTrackedChildren();
  removeTempDirsSync();
}
