import type Database from 'better-sqlite3';
import type { RetentionPolicy } from './retention.js';

interface RuledTopic {
  readonly id: number;
  readonly topic: string;
  readonly maxAgeMs: number;
}

interface OldRow {
  readonly seq: number;
  readonly event_id: string;
  readonly received_at: number;
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
  readonly #oldest: Database.Statement<[number, number], OldRow>;
  readonly #retire: Database.Statement<[number, string]>;
  readonly #remove: Database.Statement<[number]>;
  readonly #countTopic: Database.Statement<[number, number]>;
  readonly #countTotal: Database.Statement<[number]>;
  readonly #ruled: RuledTopic[] = [];
  #highestTopicId = 0;
  #cursor = 0;

  constructor(db: Database.Database, policy: RetentionPolicy) {
    this.#policy = policy;
    this.#newTopics = db.prepare('SELECT topic, id FROM topics WHERE id > ? ORDER BY id');
    this.#oldest = db.prepare('SELECT seq, event_id, received_at FROM events WHERE topic_id = ? ORDER BY seq LIMIT ?');
    this.#retire = db.prepare('INSERT OR IGNORE INTO retired (topic_id, event_id) VALUES (?, ?)');
    this.#remove = db.prepare('DELETE FROM events WHERE seq = ?');
    this.#countTopic = db.prepare('UPDATE topics SET expired = expired + ? WHERE id = ?');
    this.#countTotal = db.prepare('UPDATE counters SET expired = expired + ? WHERE id = 0');
  }

  /**
   * Inside a write transaction: expires what is due at `now` (ms since the epoch), examining at
   * most `budget` rows. Returns the count per topic, and whether the budget ran out first.
   */
  run(now: number, budget: number): { expired: Map<string, number>; more: boolean } {
    this.#learnTopics();
    const expired = new Map<string, number>();
    let examined = 0;
    let total = 0;
    for (let visited = 0; visited < this.#ruled.length && examined < budget; visited++) {
      const topic = this.#ruled[this.#cursor % this.#ruled.length]!;
      const limit = budget - examined;
      const rows = this.#oldest.all(topic.id, limit);
      const cutoff = now - topic.maxAgeMs;
      let count = 0;
      for (const row of rows) {
        if (row.received_at >= cutoff) break;
        this.#retire.run(topic.id, row.event_id);
        this.#remove.run(row.seq);
        count++;
      }
      examined += Math.max(count, 1);
      if (count > 0) {
        expired.set(topic.topic, count);
        this.#countTopic.run(count, topic.id);
        total += count;
      }
      // A topic cut off by the budget is taken up again first next time.
      if (count < limit) this.#cursor++;
    }
    if (total > 0) this.#countTotal.run(total);
    return { expired, more: examined >= budget };
  }

  /** Topics created since the last call: only new ids can be new topics. */
  #learnTopics(): void {
    for (const { topic, id } of this.#newTopics.all(this.#highestTopicId)) {
      this.#highestTopicId = id;
      const maxAgeMs = this.#policy.maxAgeOf(topic);
      if (maxAgeMs !== null) this.#ruled.push({ id, topic, maxAgeMs });
    }
  }
}
