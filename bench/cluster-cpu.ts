/**
 * Where a cluster's CPU goes per request, by process (needs nats-server and wrk; not part of `npm run bench`):
 *   node --import tsx bench/cluster-cpu.ts [--nodes 2] [--shards 8] [--batch 1] [--connections 64] [--seconds 10] [--profile DIR]
 *
 * 3 nats-server + N aggregators (`--replicas 2`), wrk on every aggregator at once, then the CPU
 * each process spent per acknowledged request (/proc, user + system). `--profile DIR` runs the
 * aggregators with --cpu-prof and stops them gracefully so the profiles are written there
 * (profiling halves the rate; read the shares, not the rates).
 */
import { parseArgs } from 'node:util';
import { startAggregatorCluster } from '../harness/aggregator-cluster.js';
import { killTrackedChildren } from '../harness/children.js';
import { readCpuSeconds } from '../harness/proc.js';
import { removeTempDirsSync } from '../harness/temp-dirs.js';
import { publishLua } from './lib/paths.js';
import { requireWrk, runWrk } from './lib/wrk.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '2' },
    shards: { type: 'string', default: '8' },
    batch: { type: 'string', default: '1' },
    connections: { type: 'string', default: '64' },
    seconds: { type: 'string', default: '10' },
    profile: { type: 'string' },
  },
});
const wrk = requireWrk();
const nodes = Number(values.nodes);
const seconds = Number(values.seconds);
try {
  const cluster = await startAggregatorCluster({
    nodes,
    shards: Number(values.shards),
    leaseTtlMs: 15_000,
    args: ['--replicas', '2'],
    ...(values.profile ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${values.profile}`] } : {}),
  });
  const nats = cluster.nats.nodes.map((node) => node.child.pid!);
  const aggregators = cluster.nodes.map((node) => node.server!.pid);
  const cpu = (pids: readonly number[]): number[] => pids.map((pid) => readCpuSeconds(pid) ?? 0);
  const [natsBefore, aggregatorsBefore] = [cpu(nats), cpu(aggregators)];
  const runs = await Promise.all(
    cluster.nodes.map((node, index) => runWrk(wrk, { url: node.url, script: publishLua, threads: 1, connections: Math.max(1, Math.round(Number(values.connections) / nodes)), durationS: seconds, env: { BATCH: values.batch!, DUPLICATES: '0.2', ID_PREFIX: `cpu${index}-` } })),
  );
  const [natsAfter, aggregatorsAfter] = [cpu(nats), cpu(aggregators)];
  const requests = runs.reduce((sum, run) => sum + (run.summary.status_200 ?? run.summary.requests), 0);
  const perRequest = (after: number[], before: number[]): string => after.map((value, index) => `${Math.round(((value - before[index]!) * 1e6) / requests)}`).join(', ');
  process.stdout.write(
    [
      `node --import tsx bench/cluster-cpu.ts --nodes ${nodes} --shards ${values.shards} --batch ${values.batch} --connections ${values.connections} --seconds ${seconds}`,
      `${requests} requests acknowledged, ${Math.round(requests / seconds)} req/s`,
      `CPU-µs per request: nats-server ${perRequest(natsAfter, natsBefore)}; aggregators ${perRequest(aggregatorsAfter, aggregatorsBefore)}`,
      '',
    ].join('\n'),
  );
  // A graceful stop writes the profiles.
  for (const node of cluster.nodes) await node.stop();
  await cluster.stop();
} finally {
  killTrackedChildren();
  removeTempDirsSync();
}
