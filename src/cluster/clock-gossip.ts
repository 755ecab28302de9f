/**
 * Shard clocks between nodes (../shared/spec/cluster.md §4): with `--replicas` below the node
 * count a node holds only some shards, yet its watermark is the minimum over all of them. Every
 * node publishes, every `intervalMs` those that moved and every second all of them (a node that
 * just started hears the idle shards too), the clocks its replicas applied (and the clock of each
 * one's last event, which ticks aim for) on `agg.clocks`; every node
 * takes those of the shards it does not hold caught up into its Frontier, which keeps the
 * furthest clock it heard of each (a lost gossip only delays the watermark). The shard's counters
 * travel with its clock, committed with the rows, so /stats sums them exactly once the cluster is idle.
 *
 * A clock heard this way says that some replica applied the shard that far; a read at a watermark
 * asks a replica that has (read-router.ts), so the watermark's promise still holds.
 */
import type { NatsConnection, Subscription } from 'nats';
import { packMessage, unpackMessage } from '../ring/codec.js';
import type { CounterTotals } from '../ingest/storage.js';
import type { Frontier } from './frontier.js';

const kSubject = 'agg.clocks';
/** Every clock is sent again this often, moved or not. */
const kFullEveryMs = 1000;

/** One shard's clocks as a replica applied them, and its counters there. */
export interface ShardClock {
  readonly clock: number;
  readonly eventClock: number;
  readonly counters: Readonly<CounterTotals>;
}

type Gossiped = [shard: number, clock: number, eventClock: number, received: number, unique: number, duplicates: number, rejected: number, expired: number, deleted: number];

export interface GossipOptions {
  readonly nodeId: string;
  readonly intervalMs: number;
  /** This node's replicas' clocks now (absent: the shard is not held here). */
  readonly local: () => ReadonlyMap<number, ShardClock>;
  /** Whether this node's own replica of `shard` is the one its frontier follows (held and caught up). */
  readonly followsOwn: (shard: number) => boolean;
}

export class ClockGossip {
  readonly #nc: NatsConnection;
  readonly #frontier: Frontier;
  readonly #options: GossipOptions;
  readonly #sent = new Map<number, number>();
  /** Per shard, the furthest replica heard of: its clock and counters. */
  readonly #heard = new Map<number, { clock: number; counters: CounterTotals }>();
  readonly #subscription: Subscription;
  readonly #timer: NodeJS.Timeout;
  #fullAt = 0;

  constructor(nc: NatsConnection, frontier: Frontier, options: GossipOptions) {
    this.#nc = nc;
    this.#frontier = frontier;
    this.#options = options;
    this.#subscription = nc.subscribe(kSubject, {
      callback: (error, message) => {
        if (error) return;
        const [node, clocks] = unpackMessage(message.data) as [string, Gossiped[]];
        if (node === options.nodeId) return;
        for (const [shard, clock, eventClock, received, unique, duplicates, rejected, expired, deleted] of clocks) {
          if ((this.#heard.get(shard)?.clock ?? -1) <= clock) this.#heard.set(shard, { clock, counters: { received, unique, duplicates, rejected, expired, deleted } });
          if (!options.followsOwn(shard)) frontier.learn(shard, clock, eventClock);
        }
      },
    });
    this.#timer = setInterval(() => this.#send(), options.intervalMs);
    this.#timer.unref();
  }

  /** The counters of `shard` as the furthest replica heard of last said; null: none heard yet. */
  countersOf(shard: number): Readonly<CounterTotals> | null {
    return this.#heard.get(shard)?.counters ?? null;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#subscription.unsubscribe();
  }

  #send(): void {
    const moved: Gossiped[] = [];
    const now = performance.now();
    const full = now - this.#fullAt >= kFullEveryMs;
    if (full) this.#fullAt = now;
    for (const [shard, { clock, eventClock, counters: c }] of this.#options.local()) {
      if (!full && this.#sent.get(shard) === clock) continue;
      this.#sent.set(shard, clock);
      moved.push([shard, clock, eventClock, c.received, c.unique, c.duplicates, c.rejected, c.expired, c.deleted]);
    }
    if (moved.length > 0 && !this.#nc.isClosed()) this.#nc.publish(kSubject, packMessage([this.#options.nodeId, moved]));
  }
}
