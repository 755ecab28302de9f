/**
 * A whole cluster on one machine for the cluster tests and benches: a 3-node NATS JetStream
 * cluster (nats-cluster.ts) and N aggregator processes (`--cluster`), each with its own data dir,
 * which can be killed, paused and started again on the same dir. And the load the fault tests
 * drive through it: concurrent publishers that keep every verdict they were given, so a test can
 * check that no acknowledged event was lost and no verdict was wrong.
 */
import type { ControlledProcess } from './children.js';
import { startNatsCluster, type NatsCluster, type NatsPlacement } from './nats-cluster.js';
import { startServer, type Placement, type Server } from './server.js';
import { makeTempDir } from './temp-dirs.js';

export interface AggregatorNode extends ControlledProcess {
  readonly name: string;
  readonly dataDir: string;
  /** The running process; null while it is down. */
  server: Server | null;
  readonly url: string;
}

export interface AggregatorCluster {
  readonly nats: NatsCluster;
  readonly nodes: readonly AggregatorNode[];
  /** Starts one more aggregator with an empty data dir: a node joining (it replays every log first); `args` are added to its flags. */
  addNode(args?: readonly string[]): Promise<AggregatorNode>;
  stop(): Promise<void>;
}

export interface AggregatorClusterOptions {
  readonly nodes?: number;
  readonly shards?: number;
  readonly leaseTtlMs?: number;
  readonly args?: readonly string[];
  /** Flags for node itself (e.g. --cpu-prof), for every aggregator. */
  readonly nodeArgs?: readonly string[];
  /** Where each NATS node runs (nats-cluster.ts; default: all on 127.0.0.1). */
  readonly natsPlacement?: (index: number) => NatsPlacement;
  /** Where each aggregator runs (its address, a network namespace; default 127.0.0.1 here). */
  readonly placement?: (index: number) => Placement;
}

export async function startAggregatorCluster(options: AggregatorClusterOptions = {}): Promise<AggregatorCluster> {
  const nats = await startNatsCluster(3, options.natsPlacement);
  // Every NATS node current (its JetStream caught up with the meta group), not only one with a
  // leader: a node across a veth link joins a moment later, and the first aggregator's R3 buckets
  // need all three (their creation timed out once, 1 run in 2, without this).
  await nats.current();
  const nodes: AggregatorNode[] = [];
  const addNode = async (extra: readonly string[] = []): Promise<AggregatorNode> => {
    const name = `agg${nodes.length}`;
    const placement = options.placement?.(nodes.length) ?? {};
    const dataDir = await makeTempDir(`cluster-${name}-`);
    const args = ['--cluster', nats.urls, '--node-id', name, '--lease-ttl-ms', String(options.leaseTtlMs ?? 3000), ...(options.args ?? []), ...extra];
    const node: AggregatorNode = {
      name,
      dataDir,
      server: null,
      get url() {
        if (!node.server) throw new Error(`${name} is down`);
        return node.server.url;
      },
      async start() {
        node.server = await startServer({ dataDir, shards: options.shards ?? 4, args, timeoutMs: 60_000, placement, ...(options.nodeArgs ? { nodeArgs: options.nodeArgs } : {}) });
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
  /** The longest time between two acknowledgements, ms: the stall a fault caused (loads sharing a record: the longest any one saw). */
  longestGapMs: number;
  /** Every acknowledgement: which target gave it and when (performance.now()), for `longestAckGap`. */
  readonly acks: { readonly target: string; readonly at: number }[];
  /** Every request that got no 200: its target, when it was sent and answered, and the status (null: no answer). */
  readonly failures: { readonly target: string; readonly sent: number; readonly at: number; readonly status: number | null; readonly error?: string }[];
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
  /** How long one request may take before the client gives up (default 40 s). */
  readonly requestTimeoutMs?: number;
  /** Another load's record to add to: loads that share keys must be judged together (`checkVerdicts`). */
  readonly record?: LoadRecord;
}

/**
 * Part of the load, not a wait: a client that got no answer (or has no node to send to) pauses
 * this long before its next request, as a real client backs off instead of spinning on a node
 * that is down or refusing.
 */
const kClientBackoffMs = 50;

/** Publishes until `stop()`: batches of random keys with `?results=1`, each request to the next target. */
export function startLoad(options: LoadOptions): { readonly record: LoadRecord; readonly inFlight: number; readonly oldestInFlight: number | null; stop(): Promise<LoadRecord> } {
  const record: LoadRecord = options.record ?? { verdicts: new Map(), unacknowledged: new Set(), acknowledged: 0, failed: 0, longestGapMs: 0, acks: [], failures: [] };
  let running = true;
  let turn = 0;
  let lastAck = performance.now();
  /** When each request still out was sent. */
  const outstanding = new Set<{ readonly sent: number }>();
  const loop = async (): Promise<void> => {
    while (running) {
      const targets = options.targets();
      const target = targets[turn++ % Math.max(1, targets.length)];
      if (target === undefined) {
        // No node to send to now: nothing is sent, so nothing is recorded; the client backs off.
        await new Promise((resolve) => setTimeout(resolve, kClientBackoffMs));
        continue;
      }
      const events = Array.from({ length: options.batch }, () => {
        const n = Math.floor(Math.random() * options.keySpace);
        return { topic: `${options.prefix ?? 'load'}.${n % (options.topics ?? 4)}`, event_id: `k${n}`, timestamp: new Date().toISOString(), source: 'load', payload: { n } };
      });
      const keys = events.map((event) => `${event.topic}/${event.event_id}`);
      let answer: { status: number; body: { results?: { status: 'stored' | 'duplicate' }[]; error?: { message?: string } } } | null = null;
      let error: string | undefined;
      const request = { sent: performance.now() };
      outstanding.add(request);
      try {
        const response = await fetch(`${target}/publish?results=1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events), signal: AbortSignal.timeout(options.requestTimeoutMs ?? 40_000) });
        answer = { status: response.status, body: (await response.json()) as NonNullable<typeof answer>['body'] };
        if (response.status !== 200) error = answer.body.error?.message;
      } catch (thrown) {
        answer = null;
        error = String((thrown as Error).cause ?? (thrown as Error).message);
      } finally {
        outstanding.delete(request);
      }
      if (answer?.status === 200 && answer.body.results) {
        const now = performance.now();
        record.longestGapMs = Math.max(record.longestGapMs, now - lastAck);
        lastAck = now;
        record.acknowledged++;
        record.acks.push({ target, at: now });
        answer.body.results.forEach((result, index) => {
          const key = keys[index]!;
          let list = record.verdicts.get(key);
          if (!list) record.verdicts.set(key, (list = []));
          list.push(result.status);
        });
      } else {
        record.failed++;
        record.failures.push({ target, sent: request.sent, at: performance.now(), status: answer?.status ?? null, ...(error === undefined ? {} : { error }) });
        for (const key of keys) record.unacknowledged.add(key);
        await new Promise((resolve) => setTimeout(resolve, kClientBackoffMs));
      }
    }
  };
  const loops = Array.from({ length: options.concurrency }, loop);
  return {
    record,
    /** Requests sent and not answered yet. */
    get inFlight() {
      return outstanding.size;
    },
    /** When the oldest request still out was sent (performance.now()); null when none is. */
    get oldestInFlight() {
      let oldest: number | null = null;
      for (const request of outstanding) oldest = Math.min(oldest ?? Infinity, request.sent);
      return oldest;
    },
    async stop() {
      running = false;
      await Promise.all(loops);
      return record;
    },
  };
}

/**
 * The longest time without an acknowledgement inside [from, to] (performance.now(); default: the
 * whole run), counting only `target`'s when given: the stall one node's clients saw.
 */
export function longestAckGap(record: LoadRecord, window: { target?: string; from?: number; to?: number } = {}): number {
  const from = window.from ?? record.acks[0]?.at ?? 0;
  const to = window.to ?? performance.now();
  let last = from;
  let longest = 0;
  for (const ack of record.acks) {
    if (ack.at < from || ack.at > to || (window.target !== undefined && ack.target !== window.target)) continue;
    longest = Math.max(longest, ack.at - last);
    last = ack.at;
  }
  return Math.max(longest, to - last);
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
