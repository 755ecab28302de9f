import { Piscina } from 'piscina';
import { ConfigError, fromWire, OverloadedError, type AggregatorError } from '../errors.js';
import type { RoomCheck, ShardStatus } from '../ingest/storage.js';
import { frameBytes } from '../ring/layout.js';
import { RingProducer, type FrameHeader } from '../ring/producer.js';
import { shardPath } from '../store/data-dir.js';
import type { ShardSnapshot, SyncMode } from '../store/shard-db.js';
import { toFailure, type DrainResult, type DrainSuccess, type OpenResult, type ShardWorkerData, type TaskFailure } from './protocol.js';
import { workerFile } from './worker-file.js';

export interface ShardPoolOptions {
  readonly dataDir: string;
  readonly shards: number;
  readonly ringBytes: number;
  readonly drainBytes: number;
  readonly sync: SyncMode;
  readonly shardRetryMs: number;
  /** Called once per failed commit or crashed worker, for logging. */
  readonly onShardError?: (shard: number, message: string) => void;
  /** The worker entry; tests substitute one that fails on cue. Default: the built shard worker. */
  readonly workerFile?: string;
  /** Called once per committed drain, before its frames are settled: the counters move here. */
  readonly onCommit?: (shard: number, result: DrainSuccess) => void;
}

export interface FrameOutcome {
  readonly inserted: number;
  readonly statuses: Uint8Array | null;
}

/** The main side's handle on one queued frame; settled once when its shard commits or fails. */
export interface FrameTicket {
  settle(outcome: FrameOutcome | AggregatorError): void;
}

interface Shard {
  readonly index: number;
  readonly ring: RingProducer;
  readonly pool: Piscina;
  /** Tickets of frames in the ring, oldest first; the ring holds their bytes in the same order. */
  readonly pending: FrameTicket[];
  draining: boolean;
  /** Why the shard refuses writes, until a probe commits again. */
  failure: string | null;
  commits: number;
  lastCommitMs: number;
}

const noopTicket: FrameTicket = { settle() {} };

/**
 * The main thread's side of the shard workers. Each shard is a ring plus a Piscina pool of exactly
 * one thread; at most one drain task per shard is ever in flight (`draining`), so a shard has one
 * writer by construction, even when Piscina replaces a crashed thread. Frames queued while a drain
 * runs are committed together by the next drain: group commit under load, one event at once when idle.
 */
export class ShardPool {
  readonly #shards: Shard[];
  readonly #options: ShardPoolOptions;
  #pendingRejected = 0;
  #closing: Promise<void> | null = null;
  #idleWaiters: (() => void)[] = [];

  private constructor(options: ShardPoolOptions) {
    this.#options = options;
    this.#shards = Array.from({ length: options.shards }, (_, index) => {
      const ring = new RingProducer(options.ringBytes);
      const workerData: ShardWorkerData = {
        shard: index,
        shardCount: options.shards,
        path: shardPath(options.dataDir, index),
        sync: options.sync,
        ring: ring.buffer,
        drainBytes: options.drainBytes,
      };
      const pool = new Piscina({
        filename: options.workerFile ?? workerFile('shard-worker'),
        name: 'drain',
        minThreads: 1,
        maxThreads: 1,
        idleTimeout: Number.POSITIVE_INFINITY,
        concurrentTasksPerWorker: 1,
        workerData,
      });
      return { index, ring, pool, pending: [], draining: false, failure: null, commits: 0, lastCommitMs: 0 };
    });
  }

  /**
   * Starts one thread per shard and opens (or creates) every shard file; rejects if any cannot
   * open. Resolves with each shard's persisted counters, where the service's totals start.
   */
  static async open(options: ShardPoolOptions): Promise<{ readonly pool: ShardPool; readonly snapshots: readonly ShardSnapshot[] }> {
    const pool = new ShardPool(options);
    const results = await Promise.all(
      pool.#shards.map((shard) => shard.pool.run(null, { name: 'open' }).catch(toFailure) as Promise<OpenResult>),
    );
    const failed = results.findIndex((result) => !result.ok);
    if (failed >= 0) {
      await pool.destroy();
      throw new ConfigError(`shard ${failed} cannot open: ${(results[failed] as TaskFailure).error.message}`);
    }
    return { pool, snapshots: results.flatMap((result) => (result.ok ? [result.snapshot] : [])) };
  }

  get shardCount(): number {
    return this.#shards.length;
  }

  check(shardIndex: number, bodyLength: number): RoomCheck {
    const shard = this.#shards[shardIndex]!;
    if (this.#closing) return 'failed';
    if (shard.failure) return 'failed';
    if (frameBytes(bodyLength) > shard.ring.capacity) return 'too_large';
    return shard.ring.fits(bodyLength) ? 'ok' : 'full';
  }

  /** Capacity of one shard's ring, bytes. */
  get ringCapacity(): number {
    return this.#options.ringBytes;
  }

  /** Free ring bytes across all shards: a cheap bound used to refuse work before parsing it. */
  freeBytes(): number {
    let free = 0;
    for (const shard of this.#shards) free += shard.ring.capacity - shard.ring.usedBytes;
    return free;
  }

  /** Appends a frame; the caller ran `check` for it in the same synchronous turn. */
  queue(shardIndex: number, header: Omit<FrameHeader, 'rejected'>, chunks: readonly Uint8Array[], bodyLength: number, ticket: FrameTicket): void {
    const shard = this.#shards[shardIndex]!;
    shard.ring.write({ ...header, rejected: this.#pendingRejected }, chunks, bodyLength);
    this.#pendingRejected = 0;
    shard.pending.push(ticket);
    this.#schedule(shard);
  }

  /** Carries a count of events refused by validation to disk with the next frame any shard commits. */
  carryRejected(count: number): void {
    this.#pendingRejected += count;
    // An empty frame carries the count to disk now; if shard 0 cannot take it, the next frame will.
    if (this.check(0, 0) === 'ok') this.queue(0, { eventCount: 0, flags: 0, receivedAt: Date.now(), firstSeq: 0 }, [], 0, noopTicket);
  }

  /** Why the pool cannot take writes right now, or an empty list when every shard is healthy. */
  problems(): string[] {
    const problems: string[] = [];
    if (this.#closing) problems.push('shutting down');
    for (const shard of this.#shards) if (shard.failure) problems.push(`shard ${shard.index}: ${shard.failure}`);
    return problems;
  }

  shardStatus(): ShardStatus[] {
    return this.#shards.map((shard) => ({
      shard: shard.index,
      ring_used_bytes: shard.ring.usedBytes,
      ring_capacity_bytes: shard.ring.capacity,
      pending_frames: shard.pending.length,
      commits: shard.commits,
      last_commit_ms: Math.round(shard.lastCommitMs * 1000) / 1000,
      healthy: shard.failure === null,
    }));
  }

  /** Graceful: refuses new frames, commits and settles every queued one, closes the databases. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await new Promise<void>((resolve) => {
        this.#idleWaiters.push(resolve);
        this.#notifyIdle();
      });
      await Promise.all(this.#shards.map((shard) => shard.pool.run(null, { name: 'close' }).catch(() => undefined)));
      await Promise.all(this.#shards.map((shard) => shard.pool.destroy()));
    })();
    return this.#closing;
  }

  /** Abrupt: stops the threads without waiting; queued frames are failed, never acknowledged. */
  async destroy(): Promise<void> {
    for (const shard of this.#shards) this.#failPending(shard, 'the service is stopping');
    await Promise.all(this.#shards.map((shard) => shard.pool.destroy()));
  }

  #schedule(shard: Shard): void {
    if (shard.draining || shard.pending.length === 0) return;
    this.#runDrain(shard);
  }

  #runDrain(shard: Shard): void {
    shard.draining = true;
    (shard.pool.run(null, { name: 'drain' }) as Promise<DrainResult>).then(
      (result) => this.#drained(shard, result),
      (error: unknown) => this.#drained(shard, toFailure(error)),
    );
  }

  #drained(shard: Shard, result: DrainResult): void {
    shard.draining = false;
    if (result.ok) this.#committed(shard, result);
    else this.#failed(shard, result);
    this.#schedule(shard);
    this.#notifyIdle();
  }

  #committed(shard: Shard, result: DrainSuccess): void {
    shard.failure = null;
    shard.commits++;
    shard.lastCommitMs = result.commitMs;
    this.#options.onCommit?.(shard.index, result);
    const tickets = shard.pending.splice(0, result.inserted.length);
    for (let index = 0; index < tickets.length; index++) {
      tickets[index]!.settle({ inserted: result.inserted[index]!, statuses: result.statuses[index] ?? null });
    }
  }

  #failed(shard: Shard, failure: TaskFailure): void {
    const error = fromWire(failure.error);
    const message = `cannot commit (${error.sourceCode ?? error.code}): ${error.message}`;
    shard.failure = message;
    this.#options.onShardError?.(shard.index, message);
    // No drain is in flight now, so the main thread may reset the ring: nothing queued was
    // acknowledged, and clients retry the 503s; whatever did commit is deduplicated on retry.
    shard.ring.discardAll();
    this.#failPending(shard, `shard ${shard.index} ${message}`);
    setTimeout(() => this.#probe(shard), this.#options.shardRetryMs).unref();
  }

  /** After a failure, checks the shard can open and commit again; a healthy probe clears the failure. */
  #probe(shard: Shard): void {
    if (!shard.failure || shard.draining || this.#closing) return;
    this.#runDrain(shard);
  }

  #failPending(shard: Shard, message: string): void {
    const tickets = shard.pending.splice(0);
    for (const ticket of tickets) ticket.settle(new OverloadedError(message));
  }

  #notifyIdle(): void {
    if (this.#idleWaiters.length === 0) return;
    if (this.#shards.some((shard) => shard.draining || shard.pending.length > 0)) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }
}
