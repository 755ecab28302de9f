/**
 * The live node set that placement is computed from (placement.ts): a KV bucket `agg_nodes` whose
 * entries vanish a TTL after their last write, one key per node, written once a second with the
 * shards the node holds and those it has caught up on. A node is live while its key exists: a
 * clean stop deletes it at once, a crash lets it expire after the TTL (the same as a lease, so a
 * NATS failover does not read as a leave). A node seen for the first time counts only once its
 * key was there for `joinSettleMs`, so nodes starting together settle before shards move.
 *
 * Listing takes one stream-info request with a subjects filter, not a consumer: the #14 note on
 * consumers stalled by a killed server applies to any long-lived one.
 */
import type { JetStreamClient, JetStreamManager, KV } from 'nats';
import type { NodeReport } from './placement.js';

const kBucket = 'agg_nodes';
const kStreamOfBucket = `KV_${kBucket}`;
const kKeyPrefix = `$KV.${kBucket}.`;

export interface MembershipOptions {
  readonly nodeId: string;
  /** How long a silent node stays live: the lease TTL. */
  readonly ttlMs: number;
  readonly replicas: number;
  /** How long a new node's key must be seen before it counts. */
  readonly joinSettleMs: number;
  /** What this node says now. */
  readonly report: () => NodeReport;
  readonly onError: (message: string) => void;
}

export class Membership {
  readonly #kv: KV;
  readonly #jsm: JetStreamManager;
  readonly #options: MembershipOptions;
  /** performance.now() when each node's key was first seen in the current run of sightings. */
  readonly #firstSeen = new Map<string, number>();
  #live = new Map<string, NodeReport>();
  /** performance.now() of the last round that wrote this node's key and read the set: JetStream answered. */
  #answeredAt = performance.now();
  #timer: NodeJS.Timeout | null = null;
  #round: Promise<void> = Promise.resolve();
  readonly #listeners: (() => void)[] = [];

  private constructor(kv: KV, jsm: JetStreamManager, options: MembershipOptions) {
    this.#kv = kv;
    this.#jsm = jsm;
    this.#options = options;
  }

  /** Opens the bucket, writes this node's key and reads the set once (nodes already there count at once). */
  static async open(js: JetStreamClient, jsm: JetStreamManager, options: MembershipOptions): Promise<Membership> {
    const kv = await js.views.kv(kBucket, { ttl: options.ttlMs, history: 1, replicas: options.replicas, allow_direct: false });
    const membership = new Membership(kv, jsm, options);
    await membership.#beat();
    await membership.#look(true);
    return membership;
  }

  /** The live nodes and what each last said (this node included). */
  get live(): ReadonlyMap<string, NodeReport> {
    return this.#live;
  }

  /**
   * How long JetStream has not answered this node's rounds (a write and a read of a replicated
   * bucket, once a second), ms. A node whose NATS server lost its quorum keeps its connection but
   * gets no answers: this is how it knows.
   */
  get silentMs(): number {
    return performance.now() - this.#answeredAt;
  }

  /** Runs after every look that changed the set or a report. */
  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  start(intervalMs = 1000): void {
    this.#timer = setInterval(() => {
      this.#round = this.#round
        .then(() => this.#beat())
        .then(() => this.#look(false))
        .then(() => {
          this.#answeredAt = performance.now();
        })
        .catch((error: unknown) => this.#options.onError(`membership: ${(error as Error).message}`));
    }, intervalMs);
    this.#timer.unref();
  }

  /** Stops the heartbeat and deletes this node's key, so the others place its shards elsewhere at once. */
  async leave(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#round.catch(() => {});
    await this.#kv.delete(this.#options.nodeId).catch(() => {});
  }

  /** Stops the heartbeat only (a crash, as far as the others can tell). */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  async #beat(): Promise<void> {
    const { hosting, caughtUp, holds } = this.#options.report();
    await this.#kv.put(this.#options.nodeId, new TextEncoder().encode(JSON.stringify({ hosting, caughtUp, holds })));
  }

  async #look(initial: boolean): Promise<void> {
    const info = await this.#jsm.streams.info(kStreamOfBucket, { subjects_filter: '>' });
    const keys = Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(kKeyPrefix.length));
    const now = performance.now();
    const live = new Map<string, NodeReport>();
    for (const key of keys.sort()) {
      const entry = await this.#kv.get(key);
      if (!entry || entry.operation !== 'PUT') continue;
      if (!this.#firstSeen.has(key)) this.#firstSeen.set(key, initial ? Number.NEGATIVE_INFINITY : now);
      if (key !== this.#options.nodeId && now - this.#firstSeen.get(key)! < this.#options.joinSettleMs) continue;
      live.set(key, parseReport(entry.string()));
    }
    for (const key of this.#firstSeen.keys()) if (!keys.includes(key)) this.#firstSeen.delete(key);
    const changed = !sameReports(live, this.#live);
    this.#live = live;
    if (changed) for (const listener of this.#listeners) listener();
  }
}

function parseReport(text: string): NodeReport {
  try {
    const { hosting, caughtUp, holds } = JSON.parse(text) as NodeReport;
    return { hosting: Array.isArray(hosting) ? hosting : [], caughtUp: Array.isArray(caughtUp) ? caughtUp : [], holds: holds !== false };
  } catch {
    return { hosting: [], caughtUp: [], holds: true };
  }
}

function sameReports(a: ReadonlyMap<string, NodeReport>, b: ReadonlyMap<string, NodeReport>): boolean {
  if (a.size !== b.size) return false;
  for (const [node, report] of a) {
    const other = b.get(node);
    if (!other || other.holds !== report.holds || other.hosting.join() !== report.hosting.join() || other.caughtUp.join() !== report.caughtUp.join()) return false;
  }
  return true;
}
