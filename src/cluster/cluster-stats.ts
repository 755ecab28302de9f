/**
 * /stats, /metrics and /health in cluster mode. A node that holds every shard answers from its
 * own counters, as a single node does. With `--replicas` below the node count, the totals are
 * each shard's counters summed: this node's own for the shards it holds, the gossiped ones of the
 * furthest replica for the rest (clock-gossip.ts), exact once the cluster is idle. The per-topic
 * counts are read from every shard's replicas, at most a second old (topic-view.ts).
 */
import type { CounterTotals, DiskReading, ShardStatus, StatsSource, TopicLosses, TopicTotals } from '../ingest/storage.js';
import type { ClusterHealth } from '../events/responses.js';
import type { TopicView } from './topic-view.js';

export interface ClusterStatsOptions {
  readonly shards: number;
  /** This node's counters of `shard` when it holds a settled replica of it; else null. */
  readonly own: (shard: number) => Readonly<CounterTotals> | null;
  readonly heard: (shard: number) => Readonly<CounterTotals> | null;
  /** The cluster's per-topic counts, for when this node lacks a shard. */
  readonly topics: TopicView;
}

export class ClusterStats implements StatsSource {
  readonly #local: StatsSource;
  readonly #options: ClusterStatsOptions;

  constructor(local: StatsSource, options: ClusterStatsOptions) {
    this.#local = local;
    this.#options = options;
  }

  totals(): Readonly<CounterTotals> {
    if (this.#everyShardHere()) return this.#local.totals();
    const sum: CounterTotals = { received: 0, unique: 0, duplicates: 0, rejected: 0, expired: 0, deleted: 0 };
    for (let shard = 0; shard < this.#options.shards; shard++) {
      const counters = this.#options.own(shard) ?? this.#options.heard(shard);
      if (counters === null) continue;
      sum.received += counters.received;
      sum.unique += counters.unique;
      sum.duplicates += counters.duplicates;
      sum.rejected += counters.rejected;
      sum.expired += counters.expired;
      sum.deleted += counters.deleted;
    }
    return sum;
  }

  topics(): ReadonlyMap<string, Readonly<TopicTotals>> {
    return this.#perTopic().topics();
  }

  topTopics(limit: number): string[] {
    return this.#perTopic().topTopics(limit);
  }

  losses(): ReadonlyMap<string, Readonly<TopicLosses>> {
    return this.#perTopic().losses();
  }

  topicCount(): number {
    return this.#perTopic().topicCount();
  }

  fresh(): Promise<void> | null {
    return this.#perTopic().fresh();
  }

  /** Where the per-topic counts come from: this node's own when it holds every shard, else the replicas' (topic-view.ts). */
  #perTopic(): Pick<StatsSource, 'topics' | 'topTopics' | 'losses' | 'topicCount' | 'fresh'> {
    return this.#everyShardHere() ? this.#local : this.#options.topics;
  }

  #everyShardHere(): boolean {
    for (let shard = 0; shard < this.#options.shards; shard++) if (this.#options.own(shard) === null) return false;
    return true;
  }

  shardStatus(): ShardStatus[] {
    return this.#local.shardStatus();
  }

  disk(): DiskReading {
    return this.#local.disk();
  }

  cluster(): ClusterHealth | null {
    return this.#local.cluster();
  }
}
