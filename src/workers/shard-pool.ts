import { ConfigError, fromWire, OverloadedError, toWire, type AggregatorError, type WireError } from '../errors.js';
import type { RoomCheck, ShardStatus } from '../ingest/storage.js';
import { frameBytes } from '../ring/layout.js';
import { unpackMessage } from '../ring/codec.js';
import type { FrameHeader } from '../ring/producer.js';
import { ShardControl } from '../ring/signals.js';
import type { ShardLifecycle, ShardSnapshot } from '../store/shard-db.js';
import { toFailure, type Completion, type DrainSuccess, type OpenResult, type RestoreResult, type TaskFailure } from './protocol.js';
import { createShard, type Shard } from './shard-slot.js';
import type { Durability } from './wal-syncer.js';

export interface ShardPoolOptions {
  readonly dataDir: string;
  readonly shards: number;
  readonly ringBytes: number;
  readonly drainBytes: number;
  /** When a commit is acknowledged: after its fsync (full), at commit with an fsync within the interval, or at commit (normal). */
  readonly durability: Durability;
  readonly shardRetryMs: number;
  /** Called once per failed commit or crashed worker, for logging. */
  readonly onShardError?: (shard: number, message: string) => void;
  /** The worker entry; tests substitute one that fails on cue. Default: the built shard worker. */
  readonly workerFile?: string;
  /** Called once per fdatasync of a shard's WAL that returned (--sync full and interval), with its time. */
  readonly onSynced?: (shard: number, milliseconds: number) => void;
  /** Called once per committed drain, before its frames are settled: the counters move here. */
  readonly onCommit?: (shard: number, result: DrainSuccess) => void;
  /** Called once per expiry slice, or commit of expire commands, that removed events: the losses move here. */
  readonly onExpired?: (shard: number, expired: readonly [topic: string, count: number][]) => void;
  /** Called once per commit whose deletions removed events. */
  readonly onDeleted?: (shard: number, deleted: readonly [topic: string, count: number][]) => void;
  /** What each shard's writer does besides committing (retention, indexes, forgetting, the data-dir budget's share). */
  readonly lifecycle: ShardLifecycle;
}

export interface FrameOutcome {
  readonly inserted: number;
  readonly statuses: Uint8Array | null;
}

/** The main side's handle on one queued frame; settled once when its shard commits or fails. */
export interface FrameTicket {
  settle(outcome: FrameOutcome | AggregatorError): void;
}

const noopTicket: FrameTicket = { settle() {} };

/**
 * The ingress thread's side of the shard loops. Each shard is a frame ring, a completion ring and
 * a Piscina pool of exactly one thread running one long-lived loop task: frames go in with a
 * doorbell, completion records come back through the completion ring, woken by
 * `Atomics.waitAsync`. No message crosses on the data path. At most one loop per shard runs at a
 * time (`looping`), and the ring's consumer claim makes a second one fail, so a shard has one
 * writer by construction, even when Piscina replaces a crashed thread. Frames queued while a
 * commit runs are committed together by the next one: group commit under load, one event at once
 * when idle.
 */
export class ShardPool {
  readonly #shards: Shard[];
  readonly #options: ShardPoolOptions;
  #pendingRejected = 0;
  #closing: Promise<void> | null = null;
  #idleWaiters: (() => void)[] = [];

  private constructor(options: ShardPoolOptions) {
    this.#options = options;
    this.#shards = Array.from({ length: options.shards }, (_, index) => createShard(index, options));
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
    for (const shard of pool.#shards) pool.#startLoop(shard);
    return { pool, snapshots: results.flatMap((result) => (result.ok ? [result.snapshot] : [])) };
  }

  get shardCount(): number {
    return this.#shards.length;
  }

  check(shardIndex: number, bodyLength: number): RoomCheck {
    const shard = this.#shards[shardIndex]!;
    if (this.#closing) return 'failed';
    if (unavailable(shard).length > 0) return 'failed';
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

  /**
   * Appends a frame; the caller ran `check` for it in the same synchronous turn. It carries the
   * rejected count waiting for a frame, unless its header brings its own (a log message's).
   */
  queue(shardIndex: number, header: Omit<FrameHeader, 'rejected'> & { readonly rejected?: number }, chunks: readonly Uint8Array[], bodyLength: number, ticket: FrameTicket): void {
    const shard = this.#shards[shardIndex]!;
    if (header.rejected !== undefined) shard.ring.write({ ...header, rejected: header.rejected }, chunks, bodyLength);
    else {
      shard.ring.write({ ...header, rejected: this.#pendingRejected }, chunks, bodyLength);
      this.#pendingRejected = 0;
    }
    shard.pending.push(ticket);
    shard.signals.ringSoon();
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
    for (const shard of this.#shards) for (const reason of unavailable(shard)) problems.push(`shard ${shard.index}: ${reason}`);
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
      healthy: unavailable(shard).length === 0,
    }));
  }

  /**
   * Replaces shard `index`'s contents with a snapshot file (cluster mode). The caller queues
   * nothing to it meanwhile and has nothing pending; the loop stops, the thread restores and
   * reopens the file, and a new loop starts, whether or not the restore worked.
   */
  async replace(index: number, from: string): Promise<{ readonly before: ShardSnapshot; readonly after: ShardSnapshot }> {
    const shard = this.#shards[index]!;
    if (shard.pending.length > 0) throw new Error(`shard ${index} has ${shard.pending.length} frames pending; it cannot be replaced now`);
    await this.#stopLoop(shard);
    const result = (await shard.pool.run({ from }, { name: 'restore' }).catch(toFailure)) as RestoreResult;
    if (!this.#closing) this.#startLoop(shard);
    if (!result.ok) throw fromWire(result.error);
    return result;
  }

  /** Graceful: refuses new frames, commits and settles every queued one, stops the loops (each closes its database). */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#whenIdle();
      await Promise.all(this.#shards.map((shard) => this.#stopLoop(shard)));
      await Promise.all(this.#shards.map((shard) => shard.pool.destroy()));
      await Promise.all(this.#shards.map((shard) => this.#stopSyncing(shard)));
    })();
    return this.#closing;
  }

  /** Abrupt: stops the threads without waiting; queued frames are failed, never acknowledged. */
  async destroy(): Promise<void> {
    this.#closing ??= Promise.resolve();
    // Piscina terminates the threads, a loop asleep in Atomics.wait included; a loop told to stop
    // instead could answer its task while Piscina tears down, which it reports as an error.
    for (const shard of this.#shards) this.#failPending(shard, 'the service is stopping');
    await Promise.all(this.#shards.map((shard) => shard.pool.destroy()));
    await Promise.all(this.#shards.map((shard) => this.#stopSyncing(shard)));
  }

  #startLoop(shard: Shard): void {
    shard.looping = true;
    shard.syncer.writerReopened();
    shard.signals.setControl(ShardControl.Run);
    const ended = shard.pool.run(null, { name: 'run' }) as Promise<void>;
    shard.loopEnded = ended.then(
      () => this.#loopEnded(shard, null),
      (error: unknown) => this.#loopEnded(shard, error),
    );
    this.#listen(shard);
  }

  /** Asks the loop to stop (nothing is queued by now); resolves when its task has returned. */
  async #stopLoop(shard: Shard): Promise<void> {
    if (!shard.looping) return;
    shard.signals.setControl(ShardControl.Stop);
    await shard.loopEnded;
  }

  /** Waits, without blocking this thread, for the loop's next completion records. */
  #listen(shard: Shard): void {
    if (shard.listening) return;
    shard.listening = true;
    const collect = (): void => {
      shard.listening = false;
      this.#collect(shard);
    };
    const wait = shard.completions.waitForFrames();
    if (wait === null) queueMicrotask(collect);
    else void wait.then(collect);
  }

  #collect(shard: Shard): void {
    const batch = shard.completions.take(Number.POSITIVE_INFINITY);
    if (batch.frames.length > 0) shard.completions.release(batch.end);
    for (const frame of batch.frames) {
      const completion = unpackMessage(frame.body) as Completion;
      if (completion.ok) this.#settleWhenDurable(shard, completion);
      else this.#failed(shard, completion);
    }
    this.#notifyIdle();
    if (shard.looping) this.#listen(shard);
  }

  /**
   * A commit's record, in ring order: its tickets leave the queue now, and are settled (with the
   * counters moved) once the commit is as durable as `--sync` asks: after an fsync that began after
   * it (full), or now (interval, with an fsync due within the interval; normal).
   */
  #settleWhenDurable(shard: Shard, result: DrainSuccess): void {
    shard.failure = null; // the writer commits again
    const tickets = shard.pending.splice(0, result.inserted.length);
    const { mode, intervalMs } = this.#options.durability;
    if (mode !== 'full') {
      this.#committed(shard, result, tickets);
      if (mode === 'interval') shard.syncer.syncWithin(intervalMs, (error) => this.#syncFailed(shard, [], error));
      return;
    }
    shard.unsynced++;
    shard.syncer
      .sync()
      .then(
        () => {
          shard.syncFailure = null;
          this.#committed(shard, result, tickets);
        },
        (error: unknown) => this.#syncFailed(shard, tickets, error),
      )
      .finally(() => {
        shard.unsynced--;
        this.#notifyIdle();
      });
  }

  #committed(shard: Shard, result: DrainSuccess, tickets: readonly FrameTicket[]): void {
    if (result.expired.length > 0) this.#options.onExpired?.(shard.index, result.expired);
    if (result.deleted.length > 0) this.#options.onDeleted?.(shard.index, result.deleted);
    if (result.inserted.length === 0) return; // the loop's first record, a probe, or an expiry slice
    shard.commits++;
    shard.lastCommitMs = result.commitMs;
    this.#options.onCommit?.(shard.index, result);
    for (let index = 0; index < tickets.length; index++) {
      tickets[index]!.settle({ inserted: result.inserted[index]!, statuses: result.statuses[index] ?? null });
    }
  }

  /**
   * An fsync failed: what it was to cover is not acknowledged (503; a retry is deduplicated), and
   * the shard refuses writes until an fsync succeeds again, retried every --shard-retry-ms. The
   * writer goes on committing what is queued; each commit waits for an fsync of its own.
   */
  #syncFailed(shard: Shard, tickets: readonly FrameTicket[], error: unknown): void {
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    const message = `cannot make its commits durable (${code}): fsync of the WAL failed: ${(error as Error).message}`;
    if (shard.syncFailure === null) this.#options.onShardError?.(shard.index, message);
    shard.syncFailure = message;
    for (const ticket of tickets) ticket.settle(new OverloadedError(`shard ${shard.index} ${message}`));
    if (shard.syncRetry !== null || this.#closing) return;
    shard.syncRetry = setTimeout(() => {
      shard.syncRetry = null;
      shard.syncer.sync().then(
        () => {
          shard.syncFailure = null;
        },
        (retryError: unknown) => this.#syncFailed(shard, [], retryError),
      );
    }, this.#options.shardRetryMs);
    shard.syncRetry.unref();
  }

  async #stopSyncing(shard: Shard): Promise<void> {
    if (shard.syncRetry !== null) clearTimeout(shard.syncRetry);
    shard.syncRetry = null;
    await shard.syncer.close();
  }

  /** A commit failed; the loop paused itself before saying so, so this thread may reset the ring. */
  #failed(shard: Shard, failure: TaskFailure): void {
    this.#markFailed(shard, failure.error);
    shard.ring.discardQueued();
    setTimeout(() => {
      if (shard.failure && shard.looping && !this.#closing) shard.signals.setControl(ShardControl.Probe);
    }, this.#options.shardRetryMs).unref();
  }

  /** The loop task returned (told to stop) or rejected (its thread died, or it could not start). */
  #loopEnded(shard: Shard, error: unknown): void {
    shard.looping = false;
    // Records written before the end are real commits: settle them first.
    this.#collect(shard);
    if (error !== null) {
      this.#markFailed(shard, toWire(error));
      // No loop runs now: this thread is the only party touching the ring and its claim.
      shard.ring.discardAll();
      setTimeout(() => {
        if (!this.#closing && !shard.looping) this.#startLoop(shard);
      }, this.#options.shardRetryMs).unref();
    }
  }

  #markFailed(shard: Shard, wire: WireError): void {
    const error = fromWire(wire);
    const message = `cannot commit (${error.sourceCode ?? error.code}): ${error.message}`;
    shard.failure = message;
    this.#options.onShardError?.(shard.index, message);
    // Nothing queued was acknowledged, and clients retry the 503s; whatever did commit is
    // deduplicated on retry.
    this.#failPending(shard, `shard ${shard.index} ${message}`);
  }

  #failPending(shard: Shard, message: string): void {
    const tickets = shard.pending.splice(0);
    for (const ticket of tickets) ticket.settle(new OverloadedError(message));
    this.#notifyIdle();
  }

  #whenIdle(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#idleWaiters.push(resolve);
      this.#notifyIdle();
    });
  }

  #notifyIdle(): void {
    if (this.#idleWaiters.length === 0) return;
    if (this.#shards.some((shard) => shard.pending.length > 0 || shard.unsynced > 0)) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }
}

/** Why a shard takes no writes now: its writer cannot commit, or its commits cannot be made durable. */
function unavailable(shard: Shard): string[] {
  return [shard.failure, shard.syncFailure].filter((reason): reason is string => reason !== null);
}
