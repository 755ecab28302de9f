/**
 * The ingress thread's side of ONE shard: its frame ring, its completion ring, its one-thread
 * Piscina pool running one long-lived loop task, the tickets of the frames in the ring, and the
 * fsyncs that make its commits durable. ShardPool holds one per shard and asks it; nothing else
 * touches a slot's state.
 *
 *   write(frame, ticket) → frame ring → doorbell → the shard thread's loop (shard-worker.ts)
 *   completion ring → #collect → in ring order: tickets leave `pending`
 *                  → DurableCommits.after (the WAL's fdatasync, --sync full) → settle
 *
 * At most one loop runs at a time (`#looping`), and the ring's consumer claim makes a second one
 * fail, so the shard has one writer by construction, even when Piscina replaces a crashed thread.
 */
import type { GroupReply } from '../groups/model.js';
import { Piscina } from 'piscina';
import { AggregatorError, fromWire, OverloadedError, toWire, type WireError } from '../errors.js';
import type { RoomCheck, ShardStatus } from '../ingest/storage.js';
import { unpackMessage } from '../ring/codec.js';
import { RingConsumer } from '../ring/consumer.js';
import { frameBytes } from '../ring/layout.js';
import { RingProducer, type FrameHeader } from '../ring/producer.js';
import { ShardControl, ShardSignals } from '../ring/signals.js';
import { shardPath } from '../store/data-dir.js';
import type { ShardLifecycle } from '../store/shard-db.js';
import { toFailure, type Completion, type DrainSuccess, type OpenResult, type RestoreResult, type ShardWorkerData, type TaskFailure } from './protocol.js';
import { DurableCommits } from './durable-commits.js';
import type { Durability } from './wal-syncer.js';
import { workerFile } from './worker-file.js';

/** What every shard of a pool is made with, and who hears of its commits and failures. */
export interface ShardOptions {
  readonly dataDir: string;
  readonly shards: number;
  readonly ringBytes: number;
  readonly drainBytes: number;
  /** When a commit is acknowledged: after its fsync (full), at commit with an fsync within the interval, or at commit (normal). */
  readonly durability: Durability;
  readonly shardRetryMs: number;
  /** What each shard's writer does besides committing (retention, indexes, forgetting, the data-dir budget's share). */
  readonly lifecycle: ShardLifecycle;
  /** The worker entry; tests substitute one that fails on cue. Default: the built shard worker. */
  readonly workerFile?: string;
  /** Called once per failed commit or crashed worker, for logging. */
  readonly onShardError?: (shard: number, message: string) => void;
  /** Called once per fdatasync of a shard's WAL that returned (--sync full and interval), with its time. */
  readonly onSynced?: (shard: number, milliseconds: number) => void;
  /** Called once per committed drain, before its frames are settled: the counters move here. */
  readonly onCommit?: (shard: number, result: DrainSuccess) => void;
  /** Called once per expiry slice, or commit of expire commands, that removed events: the losses move here. */
  readonly onExpired?: (shard: number, expired: readonly [topic: string, count: number][]) => void;
  /** Called once per commit whose deletions removed events. */
  readonly onDeleted?: (shard: number, deleted: readonly [topic: string, count: number][]) => void;
}

export interface FrameOutcome {
  readonly inserted: number;
  readonly statuses: Uint8Array | null;
  /** A consumer group command's answer. */
  readonly reply?: GroupReply;
}

/** The main side's handle on one queued frame; settled once when its shard commits or fails. */
export interface FrameTicket {
  settle(outcome: FrameOutcome | AggregatorError): void;
}

/** What a slot asks of the pool that holds it. */
export interface SlotOwner {
  /** Whether the pool is closing: no retry, probe or new loop starts then. */
  closing(): boolean;
  /** A ticket left the slot (settled or failed), or an fsync returned: an idle wait may be over. */
  settled(): void;
}

export class ShardSlot {
  readonly index: number;
  readonly #options: ShardOptions;
  readonly #owner: SlotOwner;
  readonly #ring: RingProducer;
  readonly #signals: ShardSignals;
  /** The shard loop's completion records, read here. */
  readonly #completions: RingConsumer;
  readonly #thread: Piscina;
  /** When a commit may be acknowledged: the fsyncs of the shard's WAL, off its writer's path. */
  readonly #durable: DurableCommits;
  /** Tickets of frames in the ring, oldest first; the ring holds their bytes in the same order. */
  readonly #pending: FrameTicket[] = [];
  /** Whether the loop task is running (from its start until it returns, dies or is replaced). */
  #looping = false;
  /** Whether a wait for completion records is pending (at most one). */
  #listening = false;
  /** Settles once the current loop task has returned or died, and its records are collected. */
  #loopEnded: Promise<void> = Promise.resolve();
  /** Why the writer refuses writes, until a probe or a new loop commits again. */
  #failure: string | null = null;
  #commits = 0;
  #lastCommitMs = 0;
  /** Events committed and not yet in the search index, as the writer last said. */
  #searchPending = 0;
  /** Destroyed: the thread's end is ours, not a failure, and nothing restarts. */
  #destroyed = false;

  constructor(index: number, options: ShardOptions, owner: SlotOwner) {
    this.index = index;
    this.#options = options;
    this.#owner = owner;
    this.#ring = new RingProducer(options.ringBytes);
    // A commit's completion record is smaller than the frames it commits (a status byte and a
    // topic count per event against a whole record), so a ring of the same size always holds one.
    const completions = new RingProducer(options.ringBytes);
    const path = shardPath(options.dataDir, index);
    const workerData: ShardWorkerData = {
      shard: index,
      shardCount: options.shards,
      path,
      ring: this.#ring.buffer,
      completions: completions.buffer,
      drainBytes: options.drainBytes,
      lifecycle: options.lifecycle,
    };
    this.#thread = new Piscina({
      filename: options.workerFile ?? workerFile('shard-worker'),
      name: 'run',
      minThreads: 1,
      maxThreads: 1,
      idleTimeout: Number.POSITIVE_INFINITY,
      concurrentTasksPerWorker: 1,
      workerData,
    });
    this.#signals = new ShardSignals(this.#ring.buffer);
    this.#completions = new RingConsumer(completions.buffer);
    this.#durable = new DurableCommits(path, {
      label: `shard ${index}`,
      durability: options.durability,
      retryMs: options.shardRetryMs,
      onSynced: (milliseconds) => options.onSynced?.(index, milliseconds),
      onFailure: (message) => options.onShardError?.(index, message),
      closing: () => owner.closing(),
      settled: () => owner.settled(),
    });
  }

  /** Opens (or creates) the shard file in its thread; resolves with its persisted counters, or the failure. */
  open(): Promise<OpenResult> {
    return this.#thread.run(null, { name: 'open' }).catch(toFailure) as Promise<OpenResult>;
  }

  /** Asked per shard of every request: no allocation. */
  check(bodyLength: number): RoomCheck {
    if (this.#failure !== null || this.#durable.failure !== null) return 'failed';
    if (frameBytes(bodyLength) > this.#ring.capacity) return 'too_large';
    return this.#ring.fits(bodyLength) ? 'ok' : 'full';
  }

  get freeBytes(): number {
    return this.#ring.capacity - this.#ring.usedBytes;
  }

  /** Nothing queued and nothing waiting for its fsync. */
  get idle(): boolean {
    return this.#pending.length === 0 && this.#durable.waiting === 0;
  }

  /** Appends a frame; the caller ran `check` for it in the same synchronous turn. */
  write(header: FrameHeader, chunks: readonly Uint8Array[], bodyLength: number, ticket: FrameTicket): void {
    this.#ring.write(header, chunks, bodyLength);
    this.#pending.push(ticket);
    this.#signals.ringSoon();
  }

  /** Why the shard takes no writes now: its writer cannot commit, or its commits cannot be made durable. */
  problems(): string[] {
    return [this.#failure, this.#durable.failure].filter((reason): reason is string => reason !== null);
  }

  status(): ShardStatus {
    return {
      shard: this.index,
      ring_used_bytes: this.#ring.usedBytes,
      ring_capacity_bytes: this.#ring.capacity,
      pending_frames: this.#pending.length,
      commits: this.#commits,
      last_commit_ms: Math.round(this.#lastCommitMs * 1000) / 1000,
      healthy: this.problems().length === 0,
      search_pending: this.#searchPending,
    };
  }

  startLoop(): void {
    this.#looping = true;
    this.#durable.writerReopened();
    this.#signals.setControl(ShardControl.Run);
    const ended = this.#thread.run(null, { name: 'run' }) as Promise<void>;
    this.#loopEnded = ended.then(
      () => this.#ended(null),
      (error: unknown) => this.#ended(error),
    );
    this.#listen();
  }

  /**
   * Replaces the shard's contents with a snapshot file (cluster mode). The caller queues nothing
   * meanwhile; the loop stops, the thread restores and reopens the file, and a new loop starts,
   * whether or not the restore worked.
   */
  async replace(from: string | null): Promise<Extract<RestoreResult, { ok: true }>> {
    if (this.#pending.length > 0) throw new AggregatorError('overloaded', `shard ${this.index} has ${this.#pending.length} frames pending; it cannot be replaced now`);
    await this.#stopLoop();
    const result = (await this.#thread.run({ from }, { name: 'restore' }).catch(toFailure)) as RestoreResult;
    if (!this.#owner.closing()) this.startLoop();
    if (!result.ok) throw fromWire(result.error);
    return result;
  }

  /** Graceful, once nothing is pending: stops the loop (it closes its database), the thread and the fsyncs. */
  async stop(): Promise<void> {
    await this.#stopLoop();
    await this.#thread.destroy();
    await this.#durable.close();
  }

  /** Abrupt: fails what is queued and terminates the thread, a loop asleep in Atomics.wait included. */
  async destroy(): Promise<void> {
    // A loop told to stop instead could answer its task while Piscina tears down, which it reports as an error.
    this.#destroyed = true;
    this.#failPending('the service is stopping');
    await this.#thread.destroy();
    await this.#durable.close();
  }

  /** Asks the loop to stop (nothing is queued by now); resolves when its task has returned. */
  async #stopLoop(): Promise<void> {
    if (!this.#looping) return;
    this.#signals.setControl(ShardControl.Stop);
    await this.#loopEnded;
  }

  /** Waits, without blocking this thread, for the loop's next completion records. */
  #listen(): void {
    if (this.#listening) return;
    this.#listening = true;
    const collect = (): void => {
      this.#listening = false;
      this.#collect();
    };
    const wait = this.#completions.waitForFrames();
    if (wait === null) queueMicrotask(collect);
    else void wait.then(collect);
  }

  #collect(): void {
    const batch = this.#completions.take(Number.POSITIVE_INFINITY);
    if (batch.frames.length > 0) this.#completions.release(batch.end);
    for (const frame of batch.frames) {
      const completion = unpackMessage(frame.body) as Completion;
      if (completion.ok) this.#settleWhenDurable(completion);
      else this.#failed(completion);
    }
    this.#owner.settled();
    if (this.#looping) this.#listen();
  }

  /** A commit's record, in ring order: its tickets leave the queue now, and are settled (with the counters moved) once it is durable. */
  #settleWhenDurable(result: DrainSuccess): void {
    this.#failure = null; // the writer commits again
    this.#searchPending = result.searchPending;
    // A record that settles and counts nothing (the loop's first, a probe, a search index slice) waits for no fsync.
    if (result.inserted.length === 0 && result.expired.length === 0 && result.deleted.length === 0) return;
    const tickets = this.#pending.splice(0, result.inserted.length);
    this.#durable.after(
      () => this.#committed(result, tickets),
      (error) => {
        for (const ticket of tickets) ticket.settle(error);
      },
    );
  }

  #committed(result: DrainSuccess, tickets: readonly FrameTicket[]): void {
    const { index } = this;
    if (result.expired.length > 0) this.#options.onExpired?.(index, result.expired);
    if (result.deleted.length > 0) this.#options.onDeleted?.(index, result.deleted);
    if (result.inserted.length === 0) return; // the loop's first record, a probe, or an expiry slice
    this.#commits++;
    this.#lastCommitMs = result.commitMs;
    this.#options.onCommit?.(index, result);
    const replies = new Map(result.replies ?? []);
    for (let position = 0; position < tickets.length; position++) {
      const reply = replies.get(position);
      tickets[position]!.settle(reply ? { inserted: result.inserted[position]!, statuses: null, reply } : { inserted: result.inserted[position]!, statuses: result.statuses[position] ?? null });
    }
  }

  /** A commit failed; the loop paused itself before saying so, so this thread may reset the ring. */
  #failed(failure: TaskFailure): void {
    this.#markFailed(failure.error);
    this.#ring.discardQueued();
    setTimeout(() => {
      if (this.#failure && this.#looping && !this.#owner.closing()) this.#signals.setControl(ShardControl.Probe);
    }, this.#options.shardRetryMs).unref();
  }

  /** The loop task returned (told to stop) or rejected (its thread died, or it could not start). */
  #ended(error: unknown): void {
    this.#looping = false;
    // Records written before the end are real commits: settle them first.
    this.#collect();
    if (error === null || this.#destroyed) return;
    this.#markFailed(toWire(error));
    // No loop runs now: this thread is the only party touching the ring and its claim.
    this.#ring.discardAll();
    setTimeout(() => {
      if (!this.#owner.closing() && !this.#looping) this.startLoop();
    }, this.#options.shardRetryMs).unref();
  }

  #markFailed(wire: WireError): void {
    const error = fromWire(wire);
    const message = `cannot commit (${error.sourceCode ?? error.code}): ${error.message}`;
    this.#failure = message;
    this.#options.onShardError?.(this.index, message);
    // Nothing queued was acknowledged, and clients retry the 503s; whatever did commit is
    // deduplicated on retry.
    this.#failPending(`shard ${this.index} ${message}`);
  }

  #failPending(message: string): void {
    const tickets = this.#pending.splice(0);
    for (const ticket of tickets) ticket.settle(new OverloadedError(message));
    this.#owner.settled();
  }
}
