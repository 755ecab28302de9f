import type Database from 'better-sqlite3';
import type { SearchIndex } from './search-index.js';
import { rowBytes, type StoredEventRow } from './tables.js';

/** The columns of a stored row that removing it needs: its seq, its identity and what it counted toward the topic's size. */
export const removableColumns = 'seq, event_id, timestamp, source, payload, received_at';

export type RemovableRow = Omit<StoredEventRow, 'topic'>;

export type Loss = 'expired' | 'deleted';

/**
 * Removing stored events, the one way expiry, the data-dir budget and deletion all do it: the
 * row goes, its identity moves to `retired` (unless forgotten), and the topic's and the shard's
 * counts of what it lost, and the topic's stored bytes, move in the same transaction; so does its
 * entry in the word index.
 */
export class Removal {
  readonly #retire: Database.Statement<[number, string, number]>;
  readonly #remove: Database.Statement<[number]>;
  readonly #countTopic: Readonly<Record<Loss, Database.Statement<[number, number, number]>>>;
  readonly #countTotal: Readonly<Record<Loss, Database.Statement<[number]>>>;
  readonly #search: SearchIndex;

  constructor(db: Database.Database, search: SearchIndex) {
    this.#search = search;
    this.#retire = db.prepare('INSERT OR IGNORE INTO retired (topic_id, event_id, retired_at) VALUES (?, ?, ?)');
    this.#remove = db.prepare('DELETE FROM events WHERE seq = ?');
    this.#countTopic = {
      expired: db.prepare('UPDATE topics SET expired = expired + ?, stored_bytes = stored_bytes - ? WHERE id = ?'),
      deleted: db.prepare('UPDATE topics SET deleted = deleted + ?, stored_bytes = stored_bytes - ? WHERE id = ?'),
    };
    this.#countTotal = {
      expired: db.prepare('UPDATE counters SET expired = expired + ? WHERE id = 0'),
      deleted: db.prepare('UPDATE counters SET deleted = deleted + ? WHERE id = 0'),
    };
  }

  /**
   * Inside a write transaction: removes one row of a topic and returns the bytes it counted for.
   * `retiredAt` (ms since the epoch) keeps its identity; null forgets it.
   */
  remove(topicId: number, row: RemovableRow, retiredAt: number | null): number {
    this.#remove.run(row.seq);
    this.#search.removed(row.seq);
    if (retiredAt !== null) this.#retire.run(topicId, row.event_id, Math.floor(retiredAt / 1000));
    return rowBytes(row.event_id, row.timestamp, row.source, row.payload);
  }

  /** Counts what `remove` took from one topic: `count` rows of `bytes`, as a loss of this kind. */
  count(loss: Loss, topicId: number, count: number, bytes: number): void {
    if (count === 0) return;
    this.#countTopic[loss].run(count, bytes, topicId);
    this.#countTotal[loss].run(count);
  }
}
