import type Database from 'better-sqlite3';
import { rowBytes } from './tables.js';

interface OldRow {
  readonly seq: number;
  readonly topic_id: number;
  readonly topic: string;
  readonly event_id: string;
  readonly timestamp: string;
  readonly source: string;
  readonly payload: string;
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
  readonly #retire: Database.Statement<[number, string, number]>;
  readonly #remove: Database.Statement<[number]>;
  readonly #countTopic: Database.Statement<[number, number, number]>;
  readonly #countTotal: Database.Statement<[number]>;

  constructor(db: Database.Database, maxBytes: number) {
    this.#db = db;
    this.#maxBytes = maxBytes;
    this.#oldest = db.prepare('SELECT e.seq, e.topic_id, t.topic, e.event_id, e.timestamp, e.source, e.payload FROM events e JOIN topics t ON t.id = e.topic_id ORDER BY e.seq LIMIT ?');
    this.#retire = db.prepare('INSERT OR IGNORE INTO retired (topic_id, event_id, retired_at) VALUES (?, ?, ?)');
    this.#remove = db.prepare('DELETE FROM events WHERE seq = ?');
    this.#countTopic = db.prepare('UPDATE topics SET expired = expired + ?, stored_bytes = stored_bytes - ? WHERE id = ?');
    this.#countTotal = db.prepare('UPDATE counters SET expired = expired + ? WHERE id = 0');
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
      this.#retire.run(row.topic_id, row.event_id, Math.floor(now / 1000));
      this.#remove.run(row.seq);
      let entry = byTopic.get(row.topic_id);
      if (!entry) byTopic.set(row.topic_id, (entry = { topic: row.topic, count: 0, bytes: 0 }));
      entry.count++;
      entry.bytes += rowBytes(row.event_id, row.timestamp, row.source, row.payload);
    }
    for (const [topicId, { topic, count, bytes }] of byTopic) {
      this.#countTopic.run(count, bytes, topicId);
      expired.set(topic, (expired.get(topic) ?? 0) + count);
    }
    if (rows.length > 0) this.#countTotal.run(rows.length);
    // Deleted rows free pages only as whole pages empty: the next slice measures again.
    return rows.length === budget;
  }
}
