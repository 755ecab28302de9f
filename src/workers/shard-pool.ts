import { ConfigError } from '../errors.js';
import type { RoomCheck, ShardStatus } from '../ingest/storage.js';
import type { FrameHeader } from '../ring/producer.js';
import type { ShardSnapshot } from '../store/shard-db.js';
import type { TaskFailure } from './protocol.js';
import { ShardSlot, type FrameTicket, type ShardOptions } from './shard-slot.js';

const noopTicket: FrameTicket = { settle() {} };

/**
 * The ingress thread's side of the shard loops: one `ShardSlot` per shard (a frame ring, a
 * completion ring and a Piscina pool of exactly one thread running one long-lived loop task).
 * Frames go in with a doorbell, completion records come back through the completion ring, woken
 * by `Atomics.waitAsync`: no message crosses on the data path. Frames queued while a commit runs
 * are committed together by the next one: group commit under load, one event at once when idle.
 * The pool adds what spans the shards: the rejected count carried to disk, and shutting down.
 */
export class ShardPool {
  readonly #slots: ShardSlot[];
  readonly #ringBytes: number;
  #pendingRejected = 0;
  #closing: Promise<void> | null = null;
  #idleWaiters: (() => void)[] = [];

  private constructor(options: ShardOptions) {
    this.#ringBytes = options.ringBytes;
    const owner = { closing: () => this.#closing !== null, settled: () => this.#notifyIdle() };
    this.#slots = Array.from({ length: options.shards }, (_, index) => new ShardSlot(index, options, owner));
  }

  /**
   * Starts one thread per shard and opens (or creates) every shard file; rejects if any cannot
   * open. Resolves with each shard's persisted counters, where the service's totals start.
   */
  static async open(options: ShardOptions): Promise<{ readonly pool: ShardPool; readonly snapshots: readonly ShardSnapshot[] }> {
    const pool = new ShardPool(options);
    const results = await Promise.all(pool.#slots.map((slot) => slot.open()));
    const failed = results.findIndex((result) => !result.ok);
    if (failed >= 0) {
      await pool.destroy();
      throw new ConfigError(`shard ${failed} cannot open: ${(results[failed] as TaskFailure).error.message}`);
    }
    for (const slot of pool.#slots) slot.startLoop();
    return { pool, snapshots: results.flatMap((result) => (result.ok ? [result.snapshot] : [])) };
  }

  get shardCount(): number {
    return this.#slots.length;
  }

  /** Capacity of one shard's ring, bytes. */
  get ringCapacity(): number {
    return this.#ringBytes;
  }

  check(shard: number, bodyLength: number): RoomCheck {
    return this.#closing ? 'failed' : this.#slots[shard]!.check(bodyLength);
  }

  /** Free ring bytes across all shards: a cheap bound used to refuse work before parsing it. */
  freeBytes(): number {
    let free = 0;
    for (const slot of this.#slots) free += slot.freeBytes;
    return free;
  }

  /**
   * Appends a frame; the caller ran `check` for it in the same synchronous turn. It carries the
   * rejected count waiting for a frame, unless its header brings its own (a log message's).
   */
  queue(shard: number, header: Omit<FrameHeader, 'rejected'> & { readonly rejected?: number }, chunks: readonly Uint8Array[], bodyLength: number, ticket: FrameTicket): void {
    const rejected = header.rejected ?? this.#pendingRejected;
    if (header.rejected === undefined) this.#pendingRejected = 0;
    this.#slots[shard]!.write({ ...header, rejected }, chunks, bodyLength, ticket);
  }

  /** Carries a count of events refused by validation to disk with the next frame any shard commits. */
  carryRejected(count: number): void {
    this.#pendingRejected += count;
    // An empty frame carries the count to disk now; if shard 0 cannot take it, the next frame will.
    if (this.check(0, 0) === 'ok') this.queue(0, { eventCount: 0, flags: 0, receivedAt: Date.now(), firstSeq: 0 }, [], 0, noopTicket);
  }

  /** Why the pool cannot take writes right now, or an empty list when every shard is healthy. */
  problems(): string[] {
    const problems = this.#closing ? ['shutting down'] : [];
    for (const slot of this.#slots) for (const reason of slot.problems()) problems.push(`shard ${slot.index}: ${reason}`);
    return problems;
  }

  shardStatus(): ShardStatus[] {
    return this.#slots.map((slot) => slot.status());
  }

  /** Replaces shard `shard`'s contents with a snapshot file, or with nothing (`null`: cluster mode); see ShardSlot.replace. */
  replace(shard: number, from: string | null): ReturnType<ShardSlot['replace']> {
    return this.#slots[shard]!.replace(from);
  }

  /** Graceful and idempotent: refuses new frames, commits and settles every queued one, stops the loops. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#whenIdle();
      await Promise.all(this.#slots.map((slot) => slot.stop()));
    })();
    return this.#closing;
  }

  /** Abrupt: stops the threads without waiting; queued frames are failed, never acknowledged. */
  async destroy(): Promise<void> {
    this.#closing ??= Promise.resolve();
    await Promise.all(this.#slots.map((slot) => slot.destroy()));
  }

  #whenIdle(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#idleWaiters.push(resolve);
      this.#notifyIdle();
    });
  }

  #notifyIdle(): void {
    if (this.#idleWaiters.length === 0) return;
    if (!this.#slots.every((slot) => slot.idle)) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }
}
