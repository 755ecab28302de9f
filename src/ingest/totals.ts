import type { ShardSnapshot } from '../store/shard-db.js';
import type { TopicCounts } from '../store/tables.js';
import type { DrainSuccess } from '../workers/protocol.js';

/**
 * The service-wide counters, kept on the main thread so /stats costs no query. They start from the
 * shards' persisted counters and move only by committed drains, which the shards persisted in the
 * same transactions, so after a restart they come back exactly. `rejected` moves at ingress and is
 * persisted with the next commit.
 */
export class Totals {
  received = 0;
  unique = 0;
  duplicates = 0;
  rejected = 0;
  lastSeq = 0;
  readonly topics = new Map<string, TopicCounts>();

  load(snapshot: ShardSnapshot): void {
    this.received += snapshot.counters.received;
    this.unique += snapshot.counters.unique_processed;
    this.duplicates += snapshot.counters.duplicate_dropped;
    this.rejected += snapshot.counters.rejected;
    this.lastSeq = Math.max(this.lastSeq, snapshot.counters.last_seq);
    for (const [topic, counts] of snapshot.topics) this.#addTopic(topic, counts);
  }

  addCommit(result: DrainSuccess): void {
    for (const [topic, counts] of result.topics) {
      this.received += counts.received;
      this.unique += counts.unique;
      this.duplicates += counts.duplicates;
      this.#addTopic(topic, counts);
    }
  }

  #addTopic(topic: string, counts: TopicCounts): void {
    const total = this.topics.get(topic);
    if (total) {
      total.received += counts.received;
      total.unique += counts.unique;
      total.duplicates += counts.duplicates;
    } else {
      this.topics.set(topic, { ...counts });
    }
  }
}
