/**
 * The cluster's per-topic counts, for a node that does not hold every shard: its own counters
 * cover only the shards it holds, and a topic's events are spread over every shard. So the counts
 * are read from the shards' replicas (read-router.ts `volumes`: each shard's largest topics from
 * its file), at most once a second and only while someone asks (/stats, /topics?sort=volume,
 * /metrics).
 *
 * With at most `kTopTopics` topics in every shard, each shard lists them all and the sums are
 * exact. With more, the largest of the listed sums are read again by name from every shard, so the
 * counts shown are exact for the topics shown; only the topic count is then a lower bound.
 */
import type { TopicLosses, TopicRow, TopicTotals } from '../ingest/storage.js';
import { kTopTopics } from '../ingest/totals.js';
import type { TopicVolumes, VolumeQuery } from '../store/read-parts.js';

/** A view younger than this answers as it is. */
const kFreshMs = 1000;
/** An answer waits for a read when the view is older than this (or there is none yet); in between, it answers and the view is read again behind it. */
const kStaleMs = 5000;

export class TopicView {
  readonly #read: (query: VolumeQuery) => Promise<TopicVolumes>;
  readonly #now: () => number;
  #topics = new Map<string, TopicTotals>();
  #losses = new Map<string, TopicLosses>();
  #ranked: string[] = [];
  #count = 0;
  #readAt = Number.NEGATIVE_INFINITY;
  #reading: Promise<void> | null = null;

  constructor(read: (query: VolumeQuery) => Promise<TopicVolumes>, now = () => performance.now()) {
    this.#read = read;
    this.#now = now;
  }

  /** Resolves once the view is recent enough to answer from; null when it already is. A view older than a second is read again. */
  fresh(): Promise<void> | null {
    const age = this.#now() - this.#readAt;
    if (age <= kFreshMs) return null;
    const reading = this.#refresh();
    return age > kStaleMs ? reading : null;
  }

  topics(): ReadonlyMap<string, Readonly<TopicTotals>> {
    this.fresh();
    return this.#topics;
  }

  topTopics(limit: number): string[] {
    this.fresh();
    return this.#ranked.slice(0, limit);
  }

  losses(): ReadonlyMap<string, Readonly<TopicLosses>> {
    this.fresh();
    return this.#losses;
  }

  topicCount(): number {
    this.fresh();
    return this.#count;
  }

  #refresh(): Promise<void> {
    this.#reading ??= this.#readVolumes().finally(() => (this.#reading = null));
    return this.#reading;
  }

  async #readVolumes(): Promise<void> {
    const startedAt = this.#now();
    let volumes: TopicVolumes;
    try {
      volumes = await this.#read({ limit: kTopTopics, names: null });
      // Some shard has more topics than it listed: the sums miss it, so the largest are counted again everywhere.
      if (!volumes.complete) {
        const exact = await this.#read({ limit: kTopTopics, names: volumes.rows.slice(0, kTopTopics).map((row) => row.topic) });
        volumes = { ...exact, complete: false, count: volumes.count };
      }
    } catch {
      // A shard no replica could serve: keep the last view; the next ask reads again.
      return;
    }
    this.#take(volumes.rows, volumes.count);
    this.#readAt = startedAt;
  }

  #take(rows: readonly TopicRow[], count: number): void {
    this.#topics = new Map(rows.map((row) => [row.topic, { received: row.received, unique: row.unique, duplicates: row.duplicates }]));
    this.#losses = new Map(rows.filter((row) => row.expired > 0 || row.deleted > 0).map((row) => [row.topic, { expired: row.expired, deleted: row.deleted }]));
    this.#ranked = rows.slice(0, kTopTopics).map((row) => row.topic);
    this.#count = count;
  }
}
