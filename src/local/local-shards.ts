/**
 * The local core both engines compose: this node's shard files and everything that runs them.
 *
 *   frames   → ShardPool (one ShardSlot per shard: rings → the shard's thread → its SQLite file)
 *   pages    → PagePool (reader threads, read-only connections)
 *   counters → Totals, loaded from the files at open and moved by each durable commit
 *   disk     → DiskFloor (--min-free-bytes)
 *
 * The embedded engine adds the sequencer and queues a request's frames (`queueAll`); the cluster
 * engine applies its log, one message at its log position (`apply`), and replaces a replica by a
 * snapshot (`replace`). Neither touches the pools, rings or files but through this class.
 */
import { statSync } from 'node:fs';
import type { Config } from '../config.js';
import type { ClusterHealth } from '../events/responses.js';
import type { AggregatorError } from '../errors.js';
import type { CounterTotals, RoomCheck, StatsSource } from '../ingest/storage.js';
import { Totals, TotalsStats } from '../ingest/totals.js';
import { packMessage } from '../ring/codec.js';
import { kFlagCommand, kFlagLog } from '../ring/layout.js';
import type { FrameHeader } from '../ring/producer.js';
import { shardPath } from '../store/data-dir.js';
import type { LogPosition } from '../store/log-position.js';
import type { ShardLifecycle, ShardSnapshot } from '../store/shard-db.js';
import { PagePool } from '../workers/page-pool.js';
import { ShardPool } from '../workers/shard-pool.js';
import type { FrameOutcome, FrameTicket } from '../workers/shard-slot.js';
import type { Durability } from '../workers/wal-syncer.js';
import { DiskFloor } from './disk-floor.js';

export type { FrameOutcome, FrameTicket };

/** What an engine hears of its shards, for logs and metrics. */
export interface EngineHooks {
  /** Once per failed commit or crashed shard thread. */
  readonly onShardError?: (shard: number, message: string) => void;
  /** Once per group commit. */
  readonly onCommit?: (shard: number, events: number, milliseconds: number) => void;
  /** Once per fdatasync of a shard's WAL (--sync full and interval). */
  readonly onSynced?: (shard: number, milliseconds: number) => void;
  /** Something an operator should know that is not an error (cluster mode: snapshots, rebuilds). */
  readonly onNotice?: (message: string) => void;
  /** Another shard worker entry, for fault-injection tests. */
  readonly shardWorkerFile?: string;
}

export type LocalConfig = Pick<Config, 'dataDir' | 'shards' | 'ringBytes' | 'drainBytes' | 'shardRetryMs' | 'readers' | 'minFreeBytes'>;

/** How an engine runs its shards. */
export interface LocalMode {
  readonly durability: Durability;
  readonly lifecycle: ShardLifecycle;
  /** Cluster mode: rejected counts arrive in the log with the frames, and count when applied. */
  readonly rejectedFromFrames: boolean;
}

/** One frame of a request for one shard: its header (less the rejected count the pool carries), its records. */
export interface LocalFrame {
  readonly shard: number;
  readonly header: Omit<FrameHeader, 'rejected'>;
  readonly chunks: readonly Uint8Array[];
  readonly bodyLength: number;
}

/** One message of a shard's log, to be applied at its position and no other (cluster mode). */
export interface LogEntry {
  readonly position: number;
  /** The seq of its first event, from the log clock (src/store/log-position.ts). */
  readonly firstSeq: number;
  readonly eventCount: number;
  /** The data is one command (expiry, deletion), not event records. */
  readonly command: boolean;
  readonly receivedAt: number;
  readonly rejected: number;
  /** The message's data as it was published. */
  readonly data: Uint8Array;
}

export class LocalShards {
  readonly pages: PagePool;
  /** What each shard file held at open: the counters, and in cluster mode its log position. */
  readonly opened: readonly ShardSnapshot[];
  readonly #pool: ShardPool;
  readonly #totals: Totals;
  readonly #disk: DiskFloor;
  readonly #dataDir: string;
  #closed: Promise<void> | null = null;
  #destroyed: Promise<void> | null = null;

  private constructor(pool: ShardPool, opened: readonly ShardSnapshot[], pages: PagePool, totals: Totals, disk: DiskFloor, dataDir: string) {
    this.#dataDir = dataDir;
    this.#pool = pool;
    this.opened = opened;
    this.pages = pages;
    this.#totals = totals;
    this.#disk = disk;
  }

  /** Opens every shard (rejects, with nothing left running, if one cannot open), the reader threads and the disk floor. */
  static async open(config: LocalConfig, mode: LocalMode, hooks: EngineHooks = {}): Promise<LocalShards> {
    const totals = new Totals(config.shards);
    const { pool, snapshots } = await ShardPool.open({
      dataDir: config.dataDir,
      shards: config.shards,
      ringBytes: config.ringBytes,
      drainBytes: config.drainBytes,
      durability: mode.durability,
      shardRetryMs: config.shardRetryMs,
      lifecycle: mode.lifecycle,
      onExpired: (shard, expired) => totals.addExpired(shard, expired),
      onDeleted: (shard, deleted) => totals.addDeleted(shard, deleted),
      onCommit: (shard, result) => {
        totals.addCommit(shard, result.topics);
        if (mode.rejectedFromFrames) totals.addRejected(shard, result.rejected);
        hooks.onCommit?.(shard, result.events, result.commitMs);
      },
      ...(hooks.shardWorkerFile ? { workerFile: hooks.shardWorkerFile } : {}),
      ...(hooks.onShardError ? { onShardError: hooks.onShardError } : {}),
      ...(hooks.onSynced ? { onSynced: hooks.onSynced } : {}),
    });
    for (const [shard, snapshot] of snapshots.entries()) loadTotals(totals, shard, snapshot, 1);
    const pages = new PagePool({ dataDir: config.dataDir, shards: config.shards, readers: config.readers });
    // The first read after start is served by readers already up, not by threads still loading.
    const [disk] = await Promise.all([DiskFloor.watch(config.dataDir, config.minFreeBytes), pages.ready()]);
    return new LocalShards(pool, snapshots, pages, totals, disk, config.dataDir);
  }

  get shardCount(): number {
    return this.#pool.shardCount;
  }

  /** The largest frame one shard can ever hold, bytes. */
  get frameCapacity(): number {
    return this.#pool.ringCapacity;
  }

  freeBytes(): number {
    return this.#pool.freeBytes();
  }

  /** Whether the disk is below its floor: the reason, or null. */
  get diskProblem(): string | null {
    return this.#disk.problem;
  }

  /** Room for a write: the disk floor, then the shard's ring. */
  check(shard: number, bodyLength: number): RoomCheck {
    return this.#disk.problem === null ? this.#pool.check(shard, bodyLength) : 'disk_full';
  }

  /** Room in the shard's ring alone: for what must go in below the disk floor (a deletion frees space). */
  ringRoom(shard: number, bodyLength: number): RoomCheck {
    return this.#pool.check(shard, bodyLength);
  }

  /** Queues frames (the caller checked their room); settles once all of them did, with the first failure if any. */
  queueAll(frames: readonly LocalFrame[]): Promise<FrameOutcome[]> {
    if (frames.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      const outcomes = new Array<FrameOutcome>(frames.length);
      let remaining = frames.length;
      let failure: AggregatorError | null = null;
      frames.forEach((frame, position) => {
        const ticket: FrameTicket = {
          settle: (outcome) => {
            if (outcome instanceof Error) failure ??= outcome;
            else outcomes[position] = outcome;
            if (--remaining > 0) return;
            if (failure) reject(failure);
            else resolve(outcomes);
          },
        };
        this.#pool.queue(frame.shard, frame.header, frame.chunks, frame.bodyLength, ticket);
      });
    });
  }

  /**
   * Applies one log message to shard `shard` at its position: the writer commits it there and
   * nowhere else (a position that does not follow the last one applied fails the commit). Queues
   * it and answers 'ok', or queues nothing and answers why not.
   */
  apply(shard: number, entry: LogEntry, ticket: FrameTicket): RoomCheck {
    const prefix = packMessage(entry.position);
    const bodyLength = prefix.length + entry.data.length;
    const room = this.#pool.check(shard, bodyLength);
    if (room !== 'ok') return room;
    const header = { eventCount: entry.eventCount, flags: kFlagLog | (entry.command ? kFlagCommand : 0), receivedAt: entry.receivedAt, firstSeq: entry.firstSeq, rejected: entry.rejected };
    this.#pool.queue(shard, header, [prefix, entry.data], bodyLength, ticket);
    return room;
  }

  /** One shard's counters, as its file holds them (moved by each durable commit). */
  countersOf(shard: number): Readonly<CounterTotals> {
    return this.#totals.byShard[shard]!;
  }

  /** The bytes of a shard's file and its write-ahead log now (0 for what does not exist). */
  fileBytes(shard: number): number {
    const path = shardPath(this.#dataDir, shard);
    return [path, `${path}-wal`].reduce((sum, file) => sum + (statSync(file, { throwIfNoEntry: false })?.size ?? 0), 0);
  }

  /** Counts events refused by validation: now in the totals, on disk with the next frame. */
  recordRejected(count: number): void {
    this.#totals.counters.rejected += count;
    this.#pool.carryRejected(count);
  }

  /**
   * Replaces shard `shard`'s file with a snapshot file (cluster mode: a replica the log no longer
   * reaches back to), or empties it (`null`: a replica placement moved away; nothing may be queued to it). The totals move by the counters' difference. Resolves with the log position
   * the snapshot holds.
   */
  async replace(shard: number, from: string | null): Promise<LogPosition> {
    const { before, after } = await this.#pool.replace(shard, from);
    loadTotals(this.#totals, shard, before, -1);
    loadTotals(this.#totals, shard, after, 1);
    return after.log;
  }

  /** What /stats, /topics and /metrics read; `cluster` adds this node's part in a cluster. */
  stats(cluster: () => ClusterHealth | null = () => null): StatsSource {
    return new TotalsStats(this.#totals, () => this.#pool.shardStatus(), () => this.#disk.reading, cluster);
  }

  /** Why writes are refused now: the disk floor, then each shard's reasons. */
  problems(): string[] {
    const disk = this.#disk.problem;
    return disk === null ? this.#pool.problems() : [disk, ...this.#pool.problems()];
  }

  /** Graceful and idempotent: commits and settles what is queued, then stops the threads. */
  close(): Promise<void> {
    this.#closed ??= this.#stop(() => this.#pool.close());
    return this.#closed;
  }

  /** Abrupt: queued frames fail, never acknowledged; cuts a graceful close short. */
  destroy(): Promise<void> {
    this.#destroyed ??= this.#stop(() => this.#pool.destroy());
    return this.#destroyed;
  }

  async #stop(stopShards: () => Promise<void>): Promise<void> {
    this.#disk.stop();
    await stopShards();
    await this.pages.destroy();
  }
}

/** Adds one shard file's persisted counters to the totals, or with `sign` -1 takes them away. */
function loadTotals(totals: Totals, shard: number, { counters, topics, losses }: ShardSnapshot, sign: 1 | -1): void {
  totals.load(
    shard,
    { received: sign * counters.received, unique: sign * counters.unique_processed, duplicates: sign * counters.duplicate_dropped, rejected: sign * counters.rejected, expired: 0, deleted: 0 },
    topics.map(([topic, counts]) => [topic, { received: sign * counts.received, unique: sign * counts.unique, duplicates: sign * counts.duplicates }] as const),
    losses.map(([topic, lost]) => [topic, { expired: sign * lost.expired, deleted: sign * lost.deleted }] as const),
  );
}
