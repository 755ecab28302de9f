/**
 * A whole cluster on one machine for the cluster tests and benches: a 3-node NATS JetStream
 * cluster (nats-cluster.ts) and N aggregator processes (`--cluster`), each with its own data dir,
 * which can be killed, paused and started again on the same dir. And the load the fault tests
 * drive through it: concurrent publishers that keep every verdict they were given, so a test can
 * check that no acknowledged event was lost and no verdict was wrong.
 */
import { startNatsCluster, type NatsCluster } from './nats-cluster.js';
import { startServer, type Server } from './server.js';
import { makeTempDir } from './temp-dirs.js';

export interface AggregatorNode {
  readonly name: string;
  readonly dataDir: string;
  /** The running process; null while it is down. */
  server: Server | null;
  readonly url: string;
  start(): Promise<void>;
  crash(): Promise<void>;
  stop(): Promise<void>;
  pause(): void;
  resume(): void;
}

export interface AggregatorCluster {
  readonly nats: NatsCluster;
  readonly nodes: readonly AggregatorNode[];
  /** Starts one more aggregator with an empty data dir: a node joining (it replays every log first). */
  addNode(): Promise<AggregatorNode>;
  stop(): Promise<void>;
}

export interface AggregatorClusterOptions {
  readonly nodes?: number;
  readonly shards?: number;
  readonly leaseTtlMs?: number;
  readonly args?: readonly string[];
}

export async function startAggregatorCluster(options: AggregatorClusterOptions = {}): Promise<AggregatorCluster> {
  const nats = await startNatsCluster(3);
  const nodes: AggregatorNode[] = [];
  const addNode = async (): Promise<AggregatorNode> => {
    const name = `agg${nodes.length}`;
    const dataDir = await makeTempDir(`cluster-${name}-`);
    const args = ['--cluster', nats.urls, '--node-id', name, '--lease-ttl-ms', String(options.leaseTtlMs ?? 3000), ...(options.args ?? [])];
    const node: AggregatorNode = {
      name,
      dataDir,
      server: null,
      get url() {
        if (!node.server) throw new Error(`${name} is down`);
        return node.server.url;
      },
      async start() {
        node.server = await startServer({ dataDir, shards: options.shards ?? 4, args, timeoutMs: 60_000 });
      },
      async crash() {
        await node.server?.crash();
        node.server = null;
      },
      async stop() {
        await node.server?.stop();
        node.server = null;
      },
      pause() {
        node.server?.child.kill('SIGSTOP');
      },
      resume() {
        node.server?.child.kill('SIGCONT');
      },
    };
    await node.start();
    nodes.push(node);
    return node;
  };
  for (let index = 0; index < (options.nodes ?? 2); index++) await addNode();
  return {
    nats,
    nodes,
    addNode,
    async stop() {
      for (const node of nodes) {
        node.resume();
        await node.crash();
      }
      await nats.stop();
    },
  };
}

/** Every verdict a load run was given, and what it could not tell. */
export interface LoadRecord {
  /** key (topic/event_id) → the verdicts of acknowledged requests carrying it, in order. */
  readonly verdicts: Map<string, ('stored' | 'duplicate')[]>;
  /** Keys sent in a request that got no 200 (they may or may not be stored). */
  readonly unacknowledged: Set<string>;
  acknowledged: number;
  failed: number;
  /** The longest time between two acknowledgements, ms: the stall a fault caused. */
  longestGapMs: number;
}

export interface LoadOptions {
  /** The node URLs to send to, asked before each request (a node that is down is left out). */
  readonly targets: () => readonly string[];
  readonly concurrency: number;
  readonly batch: number;
  /** Keys are drawn from this many, so resends (duplicates) happen. */
  readonly keySpace: number;
  readonly topics?: number;
  /** Topic prefix, so runs on one cluster do not share keys (default 'load'). */
  readonly prefix?: string;
}

/** Publishes until `stop()`: batches of random keys with `?results=1`, each request to the next target. */
export function startLoad(options: LoadOptions): { readonly record: LoadRecord; stop(): Promise<LoadRecord> } {
  const record: LoadRecord = { verdicts: new Map(), unacknowledged: new Set(), acknowledged: 0, failed: 0, longestGapMs: 0 };
  let running = true;
  let turn = 0;
  let lastAck = performance.now();
  const loop = async (): Promise<void> => {
    while (running) {
      const targets = options.targets();
      const target = targets[turn++ % Math.max(1, targets.length)];
      const events = Array.from({ length: options.batch }, () => {
        const n = Math.floor(Math.random() * options.keySpace);
        return { topic: `${options.prefix ?? 'load'}.${n % (options.topics ?? 4)}`, event_id: `k${n}`, timestamp: new Date().toISOString(), source: 'load', payload: { n } };
      });
      const keys = events.map((event) => `${event.topic}/${event.event_id}`);
      let answer: { status: number; body: { results?: { status: 'stored' | 'duplicate' }[] } } | null = null;
      if (target) {
        try {
          const response = await fetch(`${target}/publish?results=1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events), signal: AbortSignal.timeout(40_000) });
          answer = { status: response.status, body: (await response.json()) as { results?: { status: 'stored' | 'duplicate' }[] } };
        } catch {
          answer = null;
        }
      }
      if (answer?.status === 200 && answer.body.results) {
        const now = performance.now();
        record.longestGapMs = Math.max(record.longestGapMs, now - lastAck);
        lastAck = now;
        record.acknowledged++;
        answer.body.results.forEach((result, index) => {
          const key = keys[index]!;
          let list = record.verdicts.get(key);
          if (!list) record.verdicts.set(key, (list = []));
          list.push(result.status);
        });
      } else {
        record.failed++;
        for (const key of keys) record.unacknowledged.add(key);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  };
  const loops = Array.from({ length: options.concurrency }, loop);
  return {
    record,
    async stop() {
      running = false;
      await Promise.all(loops);
      return record;
    },
  };
}

/**
 * What a load run's verdicts must agree with, given the keys a node stores at the end:
 * every key an acknowledged request carried is stored (no acknowledged loss); no key was told
 * "stored" twice; a key only ever told "duplicate" had a delivery that got no answer (which
 * stored it). Returns the problems found, empty when there are none.
 */
export function checkVerdicts(record: LoadRecord, stored: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  for (const [key, verdicts] of record.verdicts) {
    if (!stored.has(key)) problems.push(`${key} was acknowledged and is not stored`);
    const storedCount = verdicts.filter((verdict) => verdict === 'stored').length;
    if (storedCount > 1) problems.push(`${key} was told "stored" ${storedCount} times`);
    // Only "duplicate" verdicts: some delivery stored it, so it must be one nobody heard the answer to.
    if (storedCount === 0 && !record.unacknowledged.has(key)) problems.push(`${key} was only ever told "duplicate", and every delivery was answered`);
  }
  return problems.slice(0, 20);
}
