import Database from 'better-sqlite3';
import { createSchema, kFormatVersion, type ShardCounters, type TopicCounts } from './schema.js';

export type SyncMode = 'normal' | 'full';

export interface ShardDbOptions {
  readonly path: string;
  readonly shard: number;
  readonly shardCount: number;
  readonly sync: SyncMode;
}

/** One event as the store receives it; `payload` is already JSON text. */
export interface StoreEvent {
  readonly seq: number;
  readonly topic: string;
  readonly eventId: string;
  readonly timestamp: string;
  readonly source: string;
  readonly payload: string;
}

/** The events of one request that landed on this shard, committed together with other batches. */
export interface StoreBatch {
  readonly receivedAt: number;
  readonly events: readonly StoreEvent[];
  /** Events refused by validation at ingress, counted in this transaction so the count is durable. */
  readonly rejected: number;
  readonly wantsStatuses: boolean;
}

export interface BatchOutcome {
  readonly inserted: number;
  /** Per event, 1 = stored, 0 = duplicate; only for batches that asked. */
  readonly statuses: Uint8Array | null;
}

export interface CommitOutcome {
  readonly batches: BatchOutcome[];
  readonly topics: Map<string, TopicCounts>;
  readonly rejected: number;
  readonly lastSeq: number;
}

export interface ShardSnapshot {
  readonly counters: ShardCounters;
  readonly topics: [topic: string, counts: TopicCounts][];
}

/**
 * The writer connection of one shard. Exactly one exists per shard at a time (the shard's worker
 * thread); it begins every transaction IMMEDIATE with no busy wait, so a second writer would fail
 * loudly with SQLITE_BUSY rather than interleave.
 */
export class ShardDb {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement;
  readonly #addTopic: Database.Statement;
  readonly #addCounters: Database.Statement;
  readonly #commit: (batches: readonly StoreBatch[]) => CommitOutcome;

  constructor(options: ShardDbOptions) {
    this.#db = new Database(options.path, { timeout: 0 });
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma(`synchronous = ${options.sync === 'full' ? 'FULL' : 'NORMAL'}`);
    this.#db.pragma('cache_size = -65536'); // 64 MiB of page cache keeps the indexes hot as the shard grows
    this.#db.pragma('temp_store = MEMORY');
    this.#db.exec(createSchema);
    this.#checkMeta(options);

    this.#insert = this.#db.prepare(
      'INSERT OR IGNORE INTO events (seq, topic, event_id, timestamp, source, payload, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.#addTopic = this.#db.prepare(`
      INSERT INTO topics (topic, received, unique_count, duplicates) VALUES (?, ?, ?, ?)
      ON CONFLICT (topic) DO UPDATE SET
        received = received + excluded.received,
        unique_count = unique_count + excluded.unique_count,
        duplicates = duplicates + excluded.duplicates`);
    this.#addCounters = this.#db.prepare(`
      UPDATE counters SET
        received = received + ?, unique_processed = unique_processed + ?,
        duplicate_dropped = duplicate_dropped + ?, rejected = rejected + ?, last_seq = max(last_seq, ?)
      WHERE id = 0`);
    this.#commit = this.#db.transaction((batches: readonly StoreBatch[]) => this.#write(batches)).immediate;
  }

  /** Commits every batch in one transaction: all of them are durable when this returns, or none. */
  commit(batches: readonly StoreBatch[]): CommitOutcome {
    return this.#commit(batches);
  }

  snapshot(): ShardSnapshot {
    const counters = this.#db.prepare('SELECT received, unique_processed, duplicate_dropped, rejected, last_seq FROM counters').get() as ShardCounters;
    const rows = this.#db.prepare('SELECT topic, received, unique_count, duplicates FROM topics').all() as {
      topic: string;
      received: number;
      unique_count: number;
      duplicates: number;
    }[];
    return {
      counters,
      topics: rows.map((row) => [row.topic, { received: row.received, unique: row.unique_count, duplicates: row.duplicates }]),
    };
  }

  close(): void {
    if (!this.#db.open) return;
    this.#db.pragma('wal_checkpoint(TRUNCATE)');
    this.#db.close();
  }

  #write(batches: readonly StoreBatch[]): CommitOutcome {
    const topics = new Map<string, TopicCounts>();
    const outcomes: BatchOutcome[] = [];
    let received = 0;
    let unique = 0;
    let rejected = 0;
    let lastSeq = 0;
    for (const batch of batches) {
      const statuses = batch.wantsStatuses ? new Uint8Array(batch.events.length) : null;
      let inserted = 0;
      for (let index = 0; index < batch.events.length; index++) {
        const event = batch.events[index]!;
        const stored = this.#insert.run(event.seq, event.topic, event.eventId, event.timestamp, event.source, event.payload, batch.receivedAt).changes;
        inserted += stored;
        if (statuses) statuses[index] = stored;
        if (event.seq > lastSeq) lastSeq = event.seq;
        let counts = topics.get(event.topic);
        if (!counts) topics.set(event.topic, (counts = { received: 0, unique: 0, duplicates: 0 }));
        counts.received++;
        counts.unique += stored;
        counts.duplicates += 1 - stored;
      }
      received += batch.events.length;
      unique += inserted;
      rejected += batch.rejected;
      outcomes.push({ inserted, statuses });
    }
    for (const [topic, counts] of topics) this.#addTopic.run(topic, counts.received, counts.unique, counts.duplicates);
    this.#addCounters.run(received, unique, received - unique, rejected, lastSeq);
    return { batches: outcomes, topics, rejected, lastSeq };
  }

  #checkMeta(options: ShardDbOptions): void {
    const read = this.#db.prepare('SELECT value FROM meta WHERE key = ?').pluck();
    const write = this.#db.prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)');
    write.run('format_version', kFormatVersion);
    write.run('shard', options.shard);
    write.run('shard_count', options.shardCount);
    const found = { format: read.get('format_version'), shard: read.get('shard'), count: read.get('shard_count') };
    if (found.format !== kFormatVersion || found.shard !== options.shard || found.count !== options.shardCount) {
      throw new Error(
        `${options.path} belongs to shard ${found.shard} of ${found.count} (format ${found.format}), ` +
          `expected shard ${options.shard} of ${options.shardCount} (format ${kFormatVersion})`,
      );
    }
  }
}
