import type Database from 'better-sqlite3';
import { removableColumns, type Removal, type RemovableRow } from './removal.js';
import type { RetentionPolicy } from './retention.js';

/** Most rows `drain` reads with one statement. */
const kMaxRead = 1024;

interface RuledTopic {
  readonly id: number;
  readonly topic: string;
  readonly maxAgeMs: number | null;
  readonly maxBytes: number | null;
}

/**
 * Expiry inside one shard's writer, a bounded slice at a time: each call visits topics that have
 * a retention rule, round-robin from where the last call stopped, and expires each one's oldest
 * rows (by the `(topic_id, seq)` index: seq order is receive order) until it meets a row young
 * enough or the call's budget of rows runs out. An expired row's identity moves to `retired`, so a
 * late resend is still a duplicate. The caller wraps each call in its own transaction, between
 * ingest commits: a large backlog expires in many small transactions, never one long one.
 */
export class Expiry {
  readonly #policy: RetentionPolicy;
  readonly #newTopics: Database.Statement<[number], { topic: string; id: number }>;
  readonly #oldest: Database.Statement<[number, number], RemovableRow>;
  readonly #removal: Removal;
  readonly #storedBytes: Database.Statement<[number], number>;
  readonly #ruled: RuledTopic[] = [];
  #highestTopicId = 0;
  #cursor = 0;

  constructor(db: Database.Database, policy: RetentionPolicy, removal: Removal) {
    this.#policy = policy;
    this.#removal = removal;
    this.#newTopics = db.prepare('SELECT topic, id FROM topics WHERE id > ? ORDER BY id');
    this.#oldest = db.prepare(`SELECT ${removableColumns} FROM events WHERE topic_id = ? ORDER BY seq LIMIT ?`);
    this.#storedBytes = db.prepare<[number], number>('SELECT stored_bytes FROM topics WHERE id = ?').pluck();
  }

  /**
   * Inside a write transaction: expires what is due at `now` (ms since the epoch), examining at
   * most `budget` rows. Returns the count per topic, and whether the budget ran out first.
   */
  run(now: number, budget: number): { expired: Map<string, number>; more: boolean } {
    this.#learnTopics();
    const expired = new Map<string, number>();
    let examined = 0;
    for (let visited = 0; visited < this.#ruled.length && examined < budget; visited++) {
      const topic = this.#ruled[this.#cursor % this.#ruled.length]!;
      const limit = budget - examined;
      const count = this.#expireOldest(topic, now, limit);
      examined += Math.max(count, 1);
      if (count > 0) expired.set(topic.topic, count);
      // A topic cut off by the budget is taken up again first next time.
      if (count < limit) this.#cursor++;
    }
    return { expired, more: examined >= budget };
  }

  /**
   * Inside a write transaction: expires what is due at `now`, topic by topic in id order, each to
   * its first row young enough, until `limit` rows went. No cursor is involved, so what goes is a
   * function of the rows, `now` and `limit` alone: what a replica needs (cluster mode, where the
   * log says when to call this).
   */
  drain(now: number, limit: number): Map<string, number> {
    this.#learnTopics();
    const expired = new Map<string, number>();
    let left = limit;
    for (const topic of this.#ruled) {
      let total = 0;
      // Reads grow from one row: a topic with nothing due costs one row, a backlog few statements.
      for (let read = 1; left > 0; read = Math.min(read * 8, kMaxRead)) {
        const want = Math.min(read, left);
        const count = this.#expireOldest(topic, now, want);
        total += count;
        left -= count;
        if (count < want) break;
      }
      if (total > 0) expired.set(topic.topic, total);
      if (left === 0) break;
    }
    return expired;
  }

  /** Expires the topic's oldest rows, up to `limit`, while they are too old or the topic too large; returns how many. */
  #expireOldest(topic: RuledTopic, now: number, limit: number): number {
    const rows = this.#oldest.all(topic.id, limit);
    const cutoff = topic.maxAgeMs === null ? Number.NEGATIVE_INFINITY : now - topic.maxAgeMs;
    // Bytes over the topic's size limit: the oldest rows go until it is under.
    let excess = topic.maxBytes === null ? 0 : (this.#storedBytes.get(topic.id) ?? 0) - topic.maxBytes;
    let count = 0;
    let freed = 0;
    for (const row of rows) {
      if (row.received_at >= cutoff && excess <= 0) break;
      const size = this.#removal.remove(topic.id, row, now);
      excess -= size;
      freed += size;
      count++;
    }
    this.#removal.count('expired', topic.id, count, freed);
    return count;
  }

  /** Topics created since the last call: only new ids can be new topics. */
  #learnTopics(): void {
    for (const { topic, id } of this.#newTopics.all(this.#highestTopicId)) {
      this.#highestTopicId = id;
      const limits = this.#policy.limitsOf(topic);
      if (limits !== null) this.#ruled.push({ id, topic, ...limits });
    }
  }
}
