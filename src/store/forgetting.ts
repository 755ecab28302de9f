import type Database from 'better-sqlite3';

interface RetiredKey {
  readonly topic_id: number;
  readonly event_id: string;
  readonly retired_at: number;
}

/** Where a sweep of `retired` goes on: after this key. */
export interface SweepCursor {
  readonly topicId: number;
  readonly eventId: string;
}

/**
 * `--forget-after`: the one place where dedup stops being exact. Identities retired (expired or
 * deleted) longer ago than the bound are erased, so a resend after that is stored again. A sweep
 * walks `retired` in key order, a bounded slice per call from where the last one stopped, and
 * wraps around: no index on the retirement time, so a remembered key stays about 20 bytes. In
 * cluster mode the cursor is kept in the shard file instead (log-expiry.ts), so replicas agree.
 */
export class Forgetting {
  readonly #afterMs: number;
  readonly #first: Database.Statement<[number], RetiredKey>;
  readonly #next: Database.Statement<[number, string, number], RetiredKey>;
  readonly #erase: Database.Statement<[number, string]>;
  #cursor: SweepCursor | null = null;

  constructor(db: Database.Database, afterMs: number) {
    this.#afterMs = afterMs;
    this.#first = db.prepare('SELECT topic_id, event_id, retired_at FROM retired ORDER BY topic_id, event_id LIMIT ?');
    this.#next = db.prepare('SELECT topic_id, event_id, retired_at FROM retired WHERE (topic_id, event_id) > (?, ?) ORDER BY topic_id, event_id LIMIT ?');
    this.#erase = db.prepare('DELETE FROM retired WHERE topic_id = ? AND event_id = ?');
  }

  /** Inside a write transaction: looks at up to `budget` keys, erases the ones past the bound; returns how many. */
  run(now: number, budget: number): number {
    const { erased, next } = this.slice(now, this.#cursor, budget);
    this.#cursor = next;
    return erased;
  }

  /**
   * Inside a write transaction: looks at up to `budget` keys after `after` (null: from the first),
   * erases the ones past the bound. Returns how many, and where the next slice starts (null: the
   * pass is over, the next one starts again from the first key).
   */
  slice(now: number, after: SweepCursor | null, budget: number): { erased: number; next: SweepCursor | null } {
    const keys = after ? this.#next.all(after.topicId, after.eventId, budget) : this.#first.all(budget);
    const cutoffSeconds = (now - this.#afterMs) / 1000;
    let erased = 0;
    for (const key of keys) {
      if (key.retired_at >= cutoffSeconds) continue;
      this.#erase.run(key.topic_id, key.event_id);
      erased++;
    }
    const last = keys.at(-1);
    return { erased, next: keys.length < budget || !last ? null : { topicId: last.topic_id, eventId: last.event_id } };
  }
}
