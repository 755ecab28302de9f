/**
 * The embedded storage engine: everything behind the `Storage` seam in one process.
 *
 *   commit path  → Sequencer (seqs, watermark) → ShardPool (rings → shard threads → SQLite)
 *   pages        → PagePool (reader threads, read-only connections)
 *   stats        → Totals (moved by committed drains) + the pool's shard status
 *
 * Nothing outside this folder and `src/aggregator.ts` touches the pools, rings or store.
 */
import type { AggregatorError } from '../errors.js';
import { roomRefusal } from '../ingest/pipeline.js';
import { Sequencer } from '../ingest/sequencer.js';
import { SeqReservation } from '../store/seq-reservation.js';
import type { CommitPath, CommitRequest, DeletionRequest, DeletionResult, RequestVerdict, RoomCheck, ShardFrame, StatsSource, Storage } from '../ingest/storage.js';
import { Totals, TotalsStats } from '../ingest/totals.js';
import type { ShardSnapshot } from '../store/shard-db.js';
import { packMessage } from '../ring/codec.js';
import { kFlagCommand, kFlagWantsResults } from '../ring/layout.js';
import type { FrameHeader } from '../ring/producer.js';
import { kDeletionLimit, type DeleteCommand } from '../store/deletion.js';
import { parseIndexFields } from '../events/query.js';
import { parseDuration } from '../events/time-bound.js';
import { parseRetention, parseSize } from '../store/retention.js';
import { PagePool } from '../workers/page-pool.js';
import { DiskFloor } from './disk-floor.js';
import { ShardPool, type FrameOutcome, type ShardPoolOptions } from '../workers/shard-pool.js';
import type { SyncMode } from '../workers/wal-syncer.js';

/** The shard pool's settings, the reader thread count, and another shard worker entry for fault-injection tests. */
export interface EmbeddedOptions extends Pick<ShardPoolOptions, 'dataDir' | 'shards' | 'ringBytes' | 'drainBytes' | 'shardRetryMs'> {
  /** `--sync` and `--sync-interval-ms`: when a commit is acknowledged. */
  readonly sync: SyncMode;
  readonly syncIntervalMs: number;
  readonly readers: number;
  /** `--min-free-bytes`: below it on the data dir's file system, writes get 503 `disk_full`; 0: no floor. */
  readonly minFreeBytes: number;
  /** `--retention`: the rules' text, validated at start. */
  readonly retention: string;
  /** `--retention-bytes`: the size rules' text. */
  readonly retentionBytes: string;
  /** `--index-field`: the fields' text, validated at start. */
  readonly indexFields: string;
  /** `--forget-after`: a duration, or '' for never. */
  readonly forgetAfter: string;
  /** `--max-data-bytes`: a size, or '' for no budget. */
  readonly maxDataBytes: string;
  readonly shardWorkerFile?: string;
}

export interface EngineHooks {
  /** Once per failed commit or crashed shard thread. */
  readonly onShardError?: (shard: number, message: string) => void;
  /** Once per group commit. */
  readonly onCommit?: (shard: number, events: number, milliseconds: number) => void;
  /** Once per fdatasync of a shard's WAL (--sync full and interval). */
  readonly onSynced?: (shard: number, milliseconds: number) => void;
  /** Something an operator should know that is not an error (cluster mode: snapshots, rebuilds). */
  readonly onNotice?: (message: string) => void;
}

/**
 * Adds every shard's persisted counters to the totals (at start): where both engines' counts
 * begin. With `sign` -1 it takes them away again (a cluster replica replaced by a snapshot
 * leaves the totals by its old counters and comes back with the new).
 */
export function loadTotals(totals: Totals, snapshots: readonly ShardSnapshot[], sign: 1 | -1 = 1): void {
  for (const { counters, topics, losses } of snapshots) {
    // Losses come per topic; `load` adds them to the totals' expired and deleted.
    totals.load(
      { received: sign * counters.received, unique: sign * counters.unique_processed, duplicates: sign * counters.duplicate_dropped, rejected: sign * counters.rejected, expired: 0, deleted: 0 },
      topics.map(([topic, counts]) => [topic, { received: sign * counts.received, unique: sign * counts.unique, duplicates: sign * counts.duplicates }] as const),
      losses.map(([topic, lost]) => [topic, { expired: sign * lost.expired, deleted: sign * lost.deleted }] as const),
    );
  }
}

export class EmbeddedStorage implements Storage, CommitPath {
  readonly #shards: ShardPool;
  readonly #pages: PagePool;
  readonly #sequencer: Sequencer;
  readonly #totals: Totals;
  readonly #stats: TotalsStats;
  readonly #disk: DiskFloor;

  private constructor(shards: ShardPool, pages: PagePool, sequencer: Sequencer, totals: Totals, disk: DiskFloor) {
    this.#disk = disk;
    this.#shards = shards;
    this.#pages = pages;
    this.#sequencer = sequencer;
    this.#totals = totals;
    this.#stats = new TotalsStats(totals, () => shards.shardStatus());
  }

  /** Opens every shard (rejects, with nothing left running, if one cannot open) and the reader threads. */
  static async open(options: EmbeddedOptions, hooks: EngineHooks = {}): Promise<EmbeddedStorage> {
    const totals = new Totals();
    const { pool, snapshots } = await ShardPool.open({
      dataDir: options.dataDir,
      shards: options.shards,
      ringBytes: options.ringBytes,
      drainBytes: options.drainBytes,
      durability: { mode: options.sync, intervalMs: options.syncIntervalMs },
      shardRetryMs: options.shardRetryMs,
      lifecycle: {
        retention: parseRetention(options.retention, options.retentionBytes),
        indexFields: parseIndexFields(options.indexFields),
        forgetAfterMs: options.forgetAfter === '' ? null : parseDuration(options.forgetAfter),
        // The data dir's budget, a share per shard file.
        maxShardBytes: options.maxDataBytes === '' ? null : Math.floor(parseSize(options.maxDataBytes)! / options.shards),
      },
      onExpired: (_shard, expired) => totals.addExpired(expired),
      onDeleted: (_shard, deleted) => totals.addDeleted(deleted),
      ...(options.shardWorkerFile ? { workerFile: options.shardWorkerFile } : {}),
      ...(hooks.onShardError ? { onShardError: hooks.onShardError } : {}),
      ...(hooks.onSynced ? { onSynced: hooks.onSynced } : {}),
      onCommit: (shard, result) => {
        totals.addCommit(result.topics);
        hooks.onCommit?.(shard, result.events, result.commitMs);
      },
    });
    loadTotals(totals, snapshots);
    const lastSeq = Math.max(0, ...snapshots.map((snapshot) => snapshot.counters.last_seq));
    let seqs: ReturnType<typeof SeqReservation.open>;
    try {
      seqs = SeqReservation.open(options.dataDir, lastSeq);
    } catch (error) {
      await pool.destroy();
      throw error;
    }
    const { reservation, next } = seqs;
    const pages = new PagePool({ dataDir: options.dataDir, shards: options.shards, readers: options.readers });
    const disk = await DiskFloor.watch(options.dataDir, options.minFreeBytes);
    return new EmbeddedStorage(pool, pages, new Sequencer(next, (seq) => reservation.cover(seq)), totals, disk);
  }

  get commitPath(): CommitPath {
    return this;
  }

  get watermark(): Sequencer {
    return this.#sequencer;
  }

  get pages(): PagePool {
    return this.#pages;
  }

  get stats(): StatsSource {
    return this.#stats;
  }

  // --- CommitPath

  get shardCount(): number {
    return this.#shards.shardCount;
  }

  get frameCapacity(): number {
    return this.#shards.ringCapacity;
  }

  freeBytes(): number {
    return this.#shards.freeBytes();
  }

  check(shard: number, bodyLength: number): RoomCheck {
    if (this.#disk.problem !== null) return 'disk_full';
    return this.#shards.check(shard, bodyLength);
  }

  commit(frames: readonly ShardFrame[], request: CommitRequest): Promise<RequestVerdict> {
    const range = this.#sequencer.allocate(request.eventCount);
    const header = { flags: request.wantsStatuses ? kFlagWantsResults : 0, receivedAt: Date.now(), firstSeq: range.first };
    const statuses = request.wantsStatuses ? new Uint8Array(request.eventCount) : null;
    const queued = this.#queueAll(frames.map((frame) => ({ shard: frame.shard, header: { ...header, eventCount: frame.indexes.length }, chunks: frame.chunks, bodyLength: frame.bodyLength })));
    // Committed or failed, the range no longer holds the watermark back.
    return queued.finally(() => this.#sequencer.finish(range)).then((outcomes) => {
      let unique = 0;
      outcomes.forEach((outcome, position) => {
        unique += outcome.inserted;
        const { indexes } = frames[position]!;
        if (statuses && outcome.statuses) for (let index = 0; index < indexes.length; index++) statuses[indexes[index]!] = outcome.statuses[index]!;
      });
      return { unique, statuses };
    });
  }

  /** Queues frames (the caller checked their room); settles once all of them did, with the first failure if any. */
  #queueAll(frames: readonly { shard: number; header: Omit<FrameHeader, 'rejected'>; chunks: readonly Uint8Array[]; bodyLength: number }[]): Promise<FrameOutcome[]> {
    return new Promise((resolve, reject) => {
      const outcomes = new Array<FrameOutcome>(frames.length);
      let remaining = frames.length;
      let failure: AggregatorError | null = null;
      frames.forEach((frame, position) => {
        this.#shards.queue(frame.shard, frame.header, frame.chunks, frame.bodyLength, {
          settle: (outcome) => {
            if (outcome instanceof Error) failure ??= outcome;
            else outcomes[position] = outcome;
            if (--remaining > 0) return;
            if (failure) reject(failure);
            else resolve(outcomes);
          },
        });
      });
    });
  }

  recordRejected(count: number): void {
    this.#totals.counters.rejected += count;
    this.#shards.carryRejected(count);
  }

  problems(): readonly string[] {
    const disk = this.#disk.problem;
    return disk === null ? this.#shards.problems() : [disk, ...this.#shards.problems()];
  }

  /** Every shard gets the command: a topic's events are spread over all of them by event id. */
  delete(request: DeletionRequest): Promise<DeletionResult> {
    const command: DeleteCommand = { kind: 'delete', ...request, limit: kDeletionLimit, at: Date.now() };
    const body = packMessage(command);
    const shards = Array.from({ length: this.shardCount }, (_, shard) => shard);
    // The shards' own room, not the disk floor: a deletion is what frees space.
    for (const shard of shards) {
      const room = this.#shards.check(shard, body.length);
      if (room !== 'ok') throw roomRefusal(room, shard, () => this.problems());
    }
    const header = { eventCount: 0, flags: kFlagCommand, receivedAt: Date.now(), firstSeq: 0 };
    return this.#queueAll(shards.map((shard) => ({ shard, header, chunks: [body], bodyLength: body.length }))).then((outcomes) => ({
      deleted: outcomes.reduce((sum, outcome) => sum + outcome.inserted, 0),
      more: outcomes.some((outcome) => outcome.inserted >= kDeletionLimit),
    }));
  }

  // --- lifecycle

  async close(): Promise<void> {
    this.#disk.stop();
    await this.#shards.close();
    await this.#pages.destroy();
  }

  async destroy(): Promise<void> {
    this.#disk.stop();
    await this.#shards.destroy();
    await this.#pages.destroy();
  }
}
