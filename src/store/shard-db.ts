import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { AggregatorError, ConfigError } from '../errors.js';
import { Expiry } from './expiry.js';
import { Forgetting } from './forgetting.js';
import { Removal } from './removal.js';
import { SearchIndex, type IndexSlice } from './search-index.js';
import type { GroupReply } from '../groups/model.js';
import { ShardCommands, type ShardCommand } from './shard-commands.js';
import { SpaceBudget } from './space-budget.js';
import { RetentionPolicy, shardShare, type RetentionRule } from './retention.js';
import { checkShardFile, configure, createShardFile, migrate, naming, writeMeta, type ShardFileOptions } from './shard-file.js';
import { createSchema, fieldIndexName, kFormatVersion, payloadFieldSql, rowBytes, type ShardCounters, type TopicCounts, type TopicLosses } from './tables.js';
import { TopicIds } from './topic-ids.js';
import type { LogPosition } from './log-position.js';

/** What the writer does besides committing; the same for every shard but the budget's share. */
export interface ShardLifecycle {
  /** `--index-field`, parsed: payload paths that get an expression index (made at open when missing). */
  readonly indexFields?: readonly (readonly string[])[];
  /** `--max-data-bytes` divided by the shard count: this file's budget; null: none. */
  readonly maxShardBytes?: number | null;
  /** `--forget-after` in ms: retired identities older than this are erased; null: never. */
  readonly forgetAfterMs?: number | null;
  /** `--retention`, parsed; empty: nothing expires. */
  readonly retention?: readonly RetentionRule[];
  /** Cluster mode: expiry comes only from the log's expire commands (log-expiry.ts), never from this writer's clock. */
  readonly expiryByLog?: boolean;
  /** `--search-index`: whether the writer indexes words behind its commits (default on). */
  readonly searchIndex?: boolean;
}

export interface ShardDbOptions extends ShardFileOptions, ShardLifecycle {
  /** Fault injection for tests: runs inside each commit's transaction, after its rows are inserted. */
  readonly insideCommit?: (events: number) => void;
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
  /** A command in the frame's place (its `events` are empty): its outcome's `inserted` is the count removed. */
  readonly command?: ShardCommand;
  /**
   * Cluster mode: the batch's position in the shard's log. It must be the last applied position
   * plus one, checked and recorded in the commit's transaction, so a replica applies its log in
   * order, exactly once, or refuses (`log_gap`). Absent in the embedded mode.
   */
  readonly logSeq?: number;
  /** Cluster mode: the shard's log clock after this batch (its frontier), recorded with `logSeq`. */
  readonly logClock?: number;
}

export interface BatchOutcome {
  readonly inserted: number;
  /** Per event, 1 = stored, 0 = duplicate; only for batches that asked. */
  readonly statuses: Uint8Array | null;
  /** A consumer group command's answer. */
  readonly reply?: GroupReply;
}

export interface CommitOutcome {
  readonly batches: BatchOutcome[];
  readonly topics: Map<string, TopicCounts>;
  readonly rejected: number;
  readonly lastSeq: number;
  /** Events the commit's deletions removed, by topic. */
  readonly deleted: Map<string, number>;
  /** Events the commit's expire commands removed, by topic. */
  readonly expired: Map<string, number>;
  /** The last log position applied and the clock after it, after this commit (0: none ever). */
  readonly log: LogPosition;
}

export interface ShardSnapshot {
  readonly counters: ShardCounters;
  readonly topics: [topic: string, counts: TopicCounts][];
  /** Topics that lost events to retention or deletion (the others store all their unique ones). */
  readonly losses: [topic: string, losses: TopicLosses][];
  readonly log: LogPosition;
}

export interface ExpiryOutcome {
  readonly expired: [topic: string, count: number][];
  /** The slice's budget ran out: more may be due now. */
  readonly more: boolean;
}

/**
 * The writer connection of one shard. Exactly one exists per shard at a time (the shard's worker
 * thread); it begins every transaction IMMEDIATE with no busy wait, so a second writer would fail
 * loudly with SQLITE_BUSY rather than interleave.
 */
export class ShardDb {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement;
  readonly #isRetired: Database.Statement<[number, string], number>;
  /** Whether any identity is retired: until then an insert needs no look at `retired`. */
  #anyRetired: boolean;
  readonly #expiry: Expiry | null;
  readonly #forgetting: Forgetting | null;
  readonly #space: SpaceBudget | null;
  readonly #commands: ShardCommands;
  readonly #expiryByLog: boolean;
  readonly #expire: (now: number, budget: number) => { expired: Map<string, number>; more: boolean };
  readonly #incrementalVacuum: boolean;
  readonly #addTopic: Database.Statement;
  readonly #addCounters: Database.Statement;
  readonly #commit: (batches: readonly StoreBatch[]) => CommitOutcome;
  readonly #insideCommit: ((events: number) => void) | undefined;
  readonly #topicIds: TopicIds;
  readonly #search: SearchIndex;
  readonly #saveLog: Database.Statement<[number, number]>;
  /** The last log position applied and committed, and the clock after it (cluster mode); 0 in the embedded mode. */
  #log: LogPosition;

  constructor(options: ShardDbOptions) {
    if (!existsSync(options.path)) createShardFile(options);
    else checkShardFile(options.path);
    let db: Database.Database;
    try {
      db = new Database(options.path, { timeout: 0 });
    } catch (error) {
      throw naming(options.path, error);
    }
    this.#db = db;
    this.#insideCommit = options.insideCommit;
    try {
      configure(db);
      migrate(db);
      db.exec(createSchema);
      // An index added to a shard that holds events is built now, before the shard takes writes.
      for (const path of options.indexFields ?? []) db.exec(`CREATE INDEX IF NOT EXISTS ${fieldIndexName(path)} ON events (${payloadFieldSql(path)}, topic_id, seq)`);
      this.#checkMeta(options);
    } catch (error) {
      db.close();
      throw naming(options.path, error);
    }

    this.#topicIds = new TopicIds(db);
    this.#saveLog = db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('last_log_seq', ?), ('log_clock', ?)");
    const meta = db.prepare("SELECT value FROM meta WHERE key = ?").pluck();
    this.#log = { seq: (meta.get('last_log_seq') as number | undefined) ?? 0, clock: (meta.get('log_clock') as number | undefined) ?? 0 };
    this.#insert = this.#db.prepare(
      'INSERT OR IGNORE INTO events (seq, topic_id, event_id, timestamp, source, payload, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.#isRetired = this.#db.prepare<[number, string], number>('SELECT 1 FROM retired WHERE topic_id = ? AND event_id = ?').pluck();
    this.#anyRetired = this.#db.prepare('SELECT 1 FROM retired LIMIT 1').pluck().get() === 1;
    this.#search = new SearchIndex(this.#db, options.searchIndex ?? true);
    const removal = new Removal(this.#db, this.#search);
    this.#commands = new ShardCommands(this.#db, this.#topicIds, removal, options.shardCount);
    this.#expiryByLog = options.expiryByLog ?? false;
    const policy = new RetentionPolicy(shardShare(options.retention ?? [], options.shardCount));
    this.#expiry = policy.active ? new Expiry(this.#db, policy, removal) : null;
    this.#forgetting = options.forgetAfterMs ? new Forgetting(this.#db, options.forgetAfterMs) : null;
    this.#space = options.maxShardBytes ? new SpaceBudget(this.#db, options.maxShardBytes, removal) : null;
    this.#expire = this.#db.transaction((now: number, budget: number) => {
      const outcome = this.#expiry?.run(now, budget) ?? { expired: new Map<string, number>(), more: false };
      const overBudget = this.#space?.run(now, outcome.more ? 0 : budget, outcome.expired) ?? false;
      // Forgetting is paced by the expiry slices; it only keeps them coming while it erases.
      const forgotten = this.#forgetting?.run(now, budget) ?? 0;
      return { expired: outcome.expired, more: outcome.more || overBudget || forgotten > 0 };
    }).immediate;
    this.#incrementalVacuum = this.#db.pragma('auto_vacuum', { simple: true }) === 2;
    // The row exists: TopicIds created it, in this transaction or an earlier one.
    this.#addTopic = this.#db.prepare(
      'UPDATE topics SET received = received + ?, unique_count = unique_count + ?, duplicates = duplicates + ?, stored_bytes = stored_bytes + ? WHERE topic = ?',
    );
    this.#addCounters = this.#db.prepare(`
      UPDATE counters SET
        received = received + ?, unique_processed = unique_processed + ?,
        duplicate_dropped = duplicate_dropped + ?, rejected = rejected + ?, last_seq = max(last_seq, ?)
      WHERE id = 0`);
    this.#commit = this.#db.transaction((batches: readonly StoreBatch[]) => this.#write(batches)).immediate;
  }

  /** Commits every batch in one transaction: all of them are durable when this returns, or none. */
  commit(batches: readonly StoreBatch[]): CommitOutcome {
    try {
      const outcome = this.#commit(batches);
      this.#topicIds.committed();
      this.#log = outcome.log;
      this.#search.committed(outcome.batches.reduce((sum, batch, index) => sum + (batches[index]!.command ? 0 : batch.inserted), 0));
      if (outcome.expired.size > 0 && this.#incrementalVacuum) this.#db.pragma('incremental_vacuum(1024)');
      return outcome;
    } catch (error) {
      this.#topicIds.rollBack();
      this.#commands.rollBack();
      throw error;
    }
  }

  /** Whether this writer expires by its own clock (`expire` is a no-op otherwise): it has rules, and the log does not drive expiry. */
  get expires(): boolean {
    return !this.#expiryByLog && (this.#expiry !== null || this.#forgetting !== null || this.#space !== null);
  }

  /**
   * Expires, in one short transaction, what is due at `now`, examining at most `budget` rows; the
   * freed pages go back to the file system when the file was made for it (incremental vacuum).
   */
  expire(now: number, budget: number): ExpiryOutcome {
    if (!this.expires) return { expired: [], more: false };
    const { expired, more } = this.#expire(now, budget);
    if (expired.size > 0) {
      this.#anyRetired = true;
      if (this.#incrementalVacuum) this.#db.pragma('incremental_vacuum(1024)');
    }
    return { expired: [...expired], more };
  }

  /** Whether a search index slice has work. */
  get indexWanted(): boolean {
    return this.#search.wanted;
  }

  /** Events committed and not yet in the word index. */
  get indexPending(): number {
    return this.#search.pending;
  }

  /** Indexes, in one short transaction, up to `budget` events behind the commits. */
  indexSlice(budget: number): IndexSlice {
    return this.#search.slice(budget);
  }

  /** The last log position applied (cluster mode): a replica resumes its consumer after it. */
  get log(): LogPosition {
    return this.#log;
  }

  snapshot(): ShardSnapshot {
    const counters = this.#db.prepare('SELECT received, unique_processed, duplicate_dropped, rejected, last_seq, expired, deleted FROM counters').get() as ShardCounters;
    const losses = this.#db.prepare('SELECT topic, expired, deleted FROM topics WHERE expired > 0 OR deleted > 0').all() as { topic: string; expired: number; deleted: number }[];
    const rows = this.#db.prepare('SELECT topic, received, unique_count, duplicates FROM topics').all() as {
      topic: string;
      received: number;
      unique_count: number;
      duplicates: number;
    }[];
    return {
      counters,
      topics: rows.map((row) => [row.topic, { received: row.received, unique: row.unique_count, duplicates: row.duplicates }]),
      losses: losses.map((row) => [row.topic, { expired: row.expired, deleted: row.deleted }]),
      log: this.#log,
    };
  }

  close(): void {
    if (!this.#db.open) return;
    this.#db.pragma('wal_checkpoint(TRUNCATE)');
    this.#db.close();
  }

  #write(batches: readonly StoreBatch[]): CommitOutcome {
    // Per topic: the counts the commit reports, and (for --retention-bytes) the bytes it stored.
    const tallies = new Map<string, { readonly counts: TopicCounts; bytes: number }>();
    const outcomes: BatchOutcome[] = [];
    let received = 0;
    let unique = 0;
    let rejected = 0;
    let lastSeq = 0;
    const deleted = new Map<string, number>();
    const expired = new Map<string, number>();
    let log = this.#log;
    for (const batch of batches) {
      if (batch.logSeq !== undefined) {
        if (batch.logSeq !== log.seq + 1) throw new AggregatorError('log_gap', `log position ${batch.logSeq} does not follow ${log.seq}, the last one applied; refusing to apply`);
        log = { seq: batch.logSeq, clock: batch.logClock ?? log.clock };
      }
      if (batch.command) {
        const { count, retired, reply } = this.#commands.run(batch.command, { deleted, expired });
        if (retired) this.#anyRetired = true;
        rejected += batch.rejected;
        outcomes.push(reply ? { inserted: count, statuses: null, reply } : { inserted: count, statuses: null });
        continue;
      }
      const statuses = batch.wantsStatuses ? new Uint8Array(batch.events.length) : null;
      let inserted = 0;
      for (let index = 0; index < batch.events.length; index++) {
        const event = batch.events[index]!;
        const topicId = this.#topicIds.idOf(event.topic);
        // One more B-tree probe per event, paid only once the shard has retired identities.
        const retired = this.#anyRetired && this.#isRetired.get(topicId, event.eventId) === 1;
        const stored = retired ? 0 : this.#insert.run(event.seq, topicId, event.eventId, event.timestamp, event.source, event.payload, batch.receivedAt).changes;
        inserted += stored;
        if (statuses) statuses[index] = stored;
        if (event.seq > lastSeq) lastSeq = event.seq;
        let tally = tallies.get(event.topic);
        if (!tally) tallies.set(event.topic, (tally = { counts: { received: 0, unique: 0, duplicates: 0 }, bytes: 0 }));
        tally.counts.received++;
        tally.counts.unique += stored;
        tally.counts.duplicates += 1 - stored;
        if (stored) tally.bytes += rowBytes(event.eventId, event.timestamp, event.source, event.payload);
      }
      received += batch.events.length;
      unique += inserted;
      rejected += batch.rejected;
      outcomes.push({ inserted, statuses });
    }
    const topics = new Map<string, TopicCounts>();
    for (const [topic, { counts, bytes }] of tallies) {
      this.#addTopic.run(counts.received, counts.unique, counts.duplicates, bytes, topic);
      topics.set(topic, counts);
    }
    this.#insideCommit?.(received);
    this.#addCounters.run(received, unique, received - unique, rejected, lastSeq);
    if (log !== this.#log) this.#saveLog.run(log.seq, log.clock);
    return { batches: outcomes, topics, rejected, lastSeq, deleted, expired, log };
  }

  #checkMeta(options: ShardDbOptions): void {
    const read = this.#db.prepare('SELECT value FROM meta WHERE key = ?').pluck();
    writeMeta(this.#db, options);
    const found = { format: read.get('format_version'), shard: read.get('shard'), count: read.get('shard_count') };
    if (found.format !== kFormatVersion || found.shard !== options.shard || found.count !== options.shardCount) {
      throw new ConfigError(
        `${options.path} belongs to shard ${found.shard} of ${found.count} (format ${found.format}), ` +
          `expected shard ${options.shard} of ${options.shardCount} (format ${kFormatVersion})`,
      );
    }
  }
}

