import type Database from 'better-sqlite3';
import type { Removal, RemovableRow } from './removal.js';

interface OldRow extends RemovableRow {
  readonly topic_id: number;
  readonly topic: string;
}

/**
 * `--max-data-bytes`: the data dir's budget, a share per shard file. While the file's used pages
 * (pages minus free ones: what the rows, indexes and remembered keys take) are over its share, the
 * shard's oldest events expire, whatever their topic, a bounded slice per call. Their identities
 * are kept like any expired event's, so the budget must leave room for them (`--forget-after`
 * bounds that part).
 */
export class SpaceBudget {
  readonly #maxBytes: number;
  readonly #db: Database.Database;
  readonly #oldest: Database.Statement<[number], OldRow>;
  readonly #removal: Removal;

  constructor(db: Database.Database, maxBytes: number, removal: Removal) {
    this.#db = db;
    this.#maxBytes = maxBytes;
    this.#removal = removal;
    this.#oldest = db.prepare('SELECT e.seq, e.topic_id, t.topic, e.event_id, e.timestamp, e.source, e.payload, e.received_at FROM events e JOIN topics t ON t.id = e.topic_id ORDER BY e.seq LIMIT ?');
  }

  /** Bytes the file's used pages take. */
  usedBytes(): number {
    const pages = this.#db.pragma('page_count', { simple: true }) as number;
    const free = this.#db.pragma('freelist_count', { simple: true }) as number;
    return (pages - free) * (this.#db.pragma('page_size', { simple: true }) as number);
  }

  /** Inside a write transaction: expires up to `budget` of the oldest events while over; adds them to `expired` by topic. */
  run(now: number, budget: number, expired: Map<string, number>): boolean {
    if (budget <= 0 || this.usedBytes() <= this.#maxBytes) return false;
    const rows = this.#oldest.all(budget);
    const byTopic = new Map<number, { topic: string; count: number; bytes: number }>();
    for (const row of rows) {
      let entry = byTopic.get(row.topic_id);
      if (!entry) byTopic.set(row.topic_id, (entry = { topic: row.topic, count: 0, bytes: 0 }));
      entry.count++;
      entry.bytes += this.#removal.remove(row.topic_id, row, now);
    }
    for (const [topicId, { topic, count, bytes }] of byTopic) {
      this.#removal.count('expired', topicId, count, bytes);
      expired.set(topic, (expired.get(topic) ?? 0) + count);
    }
    // Deleted rows free pages only as whole pages empty: the next slice measures again.
    return rows.length === budget;
  }
}
