import type { ClusterHealth } from '../events/responses.js';
import type { CounterTotals, DiskReading, ShardStatus, StatsSource, TopicLosses, TopicTotals } from './storage.js';
import { TopTopics } from './top-topics.js';

/** The most topics any bounded answer lists by volume (/stats, /metrics, /topics?sort=volume). */
export const kTopTopics = 1000;

/**
 * The service-wide counters, kept on the ingress thread so /stats costs no query. They start from
 * the shards' persisted counters and move only by committed drains, which the shards persisted in
 * the same transactions, so after a restart they come back exactly. `rejected` moves at ingress
 * and is persisted with a later commit.
 */
export class Totals {
  readonly counters: CounterTotals = emptyCounters();
  /**
   * The same counters per shard, moved by the same commits (rejections counted at ingress are not
   * a shard's): with --replicas a cluster node tells the others its shards' counters.
   */
  readonly byShard: CounterTotals[];
  readonly topics = new Map<string, TopicTotals>();
  readonly losses = new Map<string, TopicLosses>();
  readonly top = new TopTopics(kTopTopics);

  constructor(shards: number) {
    this.byShard = Array.from({ length: shards }, emptyCounters);
  }

  /** Adds one shard's persisted counters (at start, or with negative counts when a snapshot replaces it). */
  load(shard: number, counters: Readonly<CounterTotals>, topics: Iterable<readonly [string, Readonly<TopicTotals>]>, losses: Iterable<readonly [string, Readonly<TopicLosses>]>): void {
    this.addRejected(shard, counters.rejected);
    for (const into of [this.counters, this.byShard[shard]!]) add(into, counters);
    for (const [topic, counts] of topics) this.#addTopic(topic, counts);
    for (const [topic, lost] of losses) this.#addLosses(shard, topic, lost.expired, lost.deleted);
  }

  /** Counts events refused by validation in a shard's commit (cluster mode: they travel in the log). */
  addRejected(shard: number, count: number): void {
    this.counters.rejected += count;
    this.byShard[shard]!.rejected += count;
  }

  /** Adds what one expiry slice made durable. */
  addExpired(shard: number, topics: Iterable<readonly [string, number]>): void {
    for (const [topic, count] of topics) this.#addLosses(shard, topic, count, 0);
  }

  /** Adds what one commit's deletions made durable. */
  addDeleted(shard: number, topics: Iterable<readonly [string, number]>): void {
    for (const [topic, count] of topics) this.#addLosses(shard, topic, 0, count);
  }

  #addLosses(shard: number, topic: string, expired: number, deleted: number): void {
    for (const into of [this.counters, this.byShard[shard]!]) {
      into.expired += expired;
      into.deleted += deleted;
    }
    const lost = this.losses.get(topic);
    if (lost) {
      lost.expired += expired;
      lost.deleted += deleted;
    } else this.losses.set(topic, { expired, deleted });
  }

  /** Adds the per-topic counts one commit of `shard` made durable. */
  addCommit(shard: number, topics: Iterable<readonly [string, Readonly<TopicTotals>]>): void {
    const ofShard = this.byShard[shard]!;
    for (const [topic, counts] of topics) {
      add(this.counters, counts);
      add(ofShard, counts);
      this.#addTopic(topic, counts);
    }
  }

  #addTopic(topic: string, counts: Readonly<TopicTotals>): void {
    let total = this.topics.get(topic);
    if (total) add(total, counts);
    else this.topics.set(topic, (total = { received: counts.received, unique: counts.unique, duplicates: counts.duplicates }));
    this.top.offer(topic, total.received);
  }
}

function emptyCounters(): CounterTotals {
  return { received: 0, unique: 0, duplicates: 0, rejected: 0, expired: 0, deleted: 0 };
}

function add(total: TopicTotals, counts: Readonly<TopicTotals>): void {
  total.received += counts.received;
  total.unique += counts.unique;
  total.duplicates += counts.duplicates;
}

/** What /stats, /topics and /metrics read, the same for both engines: the totals, and what the engine says of its shards. */
export class TotalsStats implements StatsSource {
  readonly #totals: Totals;
  readonly #shardStatus: () => ShardStatus[];
  readonly #cluster: () => ClusterHealth | null;
  readonly #disk: () => DiskReading;

  constructor(totals: Totals, shardStatus: () => ShardStatus[], disk: () => DiskReading, cluster: () => ClusterHealth | null = () => null) {
    this.#totals = totals;
    this.#shardStatus = shardStatus;
    this.#disk = disk;
    this.#cluster = cluster;
  }

  disk(): DiskReading {
    return this.#disk();
  }

  totals(): Readonly<CounterTotals> {
    return this.#totals.counters;
  }

  topics(): ReadonlyMap<string, Readonly<TopicTotals>> {
    return this.#totals.topics;
  }

  topTopics(limit: number): string[] {
    return this.#totals.top.list(limit);
  }

  losses(): ReadonlyMap<string, Readonly<TopicLosses>> {
    return this.#totals.losses;
  }

  topicCount(): number {
    return this.#totals.topics.size;
  }

  fresh(): null {
    return null;
  }

  shardStatus(): ShardStatus[] {
    return this.#shardStatus();
  }

  cluster(): ClusterHealth | null {
    return this.#cluster();
  }
}
