/**
 * One shard's replica on this node (../shared/spec/cluster.md §2.4): an ordered consumer of the
 * shard's stream, from the position after the last one applied, feeding the embedded shard thread
 * through its ring, one log message per frame. The thread applies each message in one transaction
 * at its position and no other (ShardDb's `s == last + 1` check), with seqs from the log clock
 * (log-clock.ts), so every replica's file holds the same rows, verdicts and counters.
 *
 * The consumer's buffer is bounded (`max_bytes`), and the loop waits for ring room before it takes
 * the next message, so a slow disk slows the consumer, never grows memory. A failed commit fails
 * the frames queued after it; the host then starts a new consumer after the last committed
 * position, so nothing is skipped and nothing applied twice.
 */
import { DeliverPolicy, type ConsumerMessages, type JetStreamClient, type JsMsg } from 'nats';
import { packMessage } from '../ring/codec.js';
import { kFlagCommand, kFlagLog } from '../ring/layout.js';
import type { LogPosition } from '../store/shard-db.js';
import type { FrameOutcome, ShardPool } from '../workers/shard-pool.js';
import { clockAfter, firstSeqOf, timestampMicros } from './log-clock.js';
import { kHeaders } from './log-message.js';
import type { VerdictBoard } from './verdicts.js';

export interface ShardHostOptions {
  readonly shard: number;
  readonly shards: number;
  readonly stream: string;
  /** Pause before a new consumer after a failure, ms. */
  readonly retryMs: number;
  /** Runs after every applied message, with the shard's new position and whether the message carried events. */
  readonly onApplied: (shard: number, position: LogPosition, carriedEvents: boolean) => void;
}

/** Log bytes a consumer may hold unread: a few large messages. */
const kConsumerBytes = 8 * 1024 * 1024;

export class ShardHost {
  readonly #js: JetStreamClient;
  readonly #pool: ShardPool;
  readonly #board: VerdictBoard;
  readonly #options: ShardHostOptions;
  /** The last position the shard thread committed. */
  #committed: LogPosition;
  /** The last position queued to the ring (ahead of `committed` while frames are in it). */
  #queued: LogPosition;
  #messages: ConsumerMessages | null = null;
  #stopped = false;
  /** Why the replica is not applying (reported until a commit succeeds again). */
  #failure: string | null = null;
  /** The current consumer must end: a frame failed, or the thread refused one. */
  #broken = false;
  /** Messages the consumer had not yet delivered when the last applied one came: 0 is caught up. */
  #behind = Number.POSITIVE_INFINITY;
  #roomWaiters: (() => void)[] = [];
  #caughtUpWaiters: { target: number; resolve: () => void }[] = [];
  #running: Promise<void> = Promise.resolve();

  constructor(js: JetStreamClient, pool: ShardPool, board: VerdictBoard, options: ShardHostOptions, start: LogPosition) {
    this.#js = js;
    this.#pool = pool;
    this.#board = board;
    this.#options = options;
    this.#committed = start;
    this.#queued = start;
  }

  get position(): LogPosition {
    return this.#committed;
  }

  /** Why this replica is not applying, or null. */
  get failure(): string | null {
    return this.#failure;
  }

  /** Whether the last message applied was the last the stream had when it was delivered. */
  get caughtUp(): boolean {
    return this.#behind === 0 && this.#committed.seq === this.#queued.seq && this.#failure === null;
  }

  start(): void {
    this.#running = this.#run();
  }

  /** Resolves once the replica has applied position `target` (at start: the stream's last). */
  applied(target: number): Promise<void> {
    if (this.#committed.seq >= target) return Promise.resolve();
    return new Promise((resolve) => this.#caughtUpWaiters.push({ target, resolve }));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#messages?.stop();
    for (const wake of this.#roomWaiters.splice(0)) wake();
    await this.#running;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      try {
        await this.#consume();
      } catch (error) {
        this.#failure = `replica of shard ${this.#options.shard}: ${(error as Error).message}`;
        this.#broken = true;
      }
      if (this.#stopped) return;
      await new Promise((resolve) => setTimeout(resolve, this.#options.retryMs));
    }
  }

  async #consume(): Promise<void> {
    this.#queued = this.#committed;
    this.#broken = false;
    const consumer = await this.#js.consumers.get(this.#options.stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.#committed.seq + 1 });
    const messages = await consumer.consume({ max_bytes: kConsumerBytes });
    this.#messages = messages;
    if (this.#stopped) messages.stop();
    for await (const message of messages) {
      if (this.#stopped || this.#broken) break;
      if (message.seq <= this.#queued.seq) continue; // already queued (a consumer reset redelivers nothing applied, but be sure)
      if (message.seq !== this.#queued.seq + 1) throw new Error(`log gap: got ${message.seq} after ${this.#queued.seq}; refusing to apply`);
      await this.#queue(message);
    }
    messages.stop();
    // A failure ends this consumer; the loop starts a new one after the last committed position.
    if (this.#broken) throw new Error(this.#failure ?? 'stopped');
  }

  /** Writes one message into the ring as one frame, once there is room. */
  async #queue(message: JsMsg): Promise<void> {
    const { shard, shards } = this.#options;
    const headers = message.headers;
    const events = Number(headers?.get(kHeaders.events) || 0);
    const command = headers?.get(kHeaders.command) === '1';
    // A tick names the clock to reach; every other message starts at its log timestamp.
    const at = Math.max(timestampMicros(message.info.timestampNanos), Number(headers?.get(kHeaders.clock) || 0));
    const first = firstSeqOf(this.#queued.clock, at, shard, shards);
    const position: LogPosition = { seq: message.seq, clock: command ? first : clockAfter(first, events, shards) };
    const prefix = packMessage(message.seq);
    const bodyLength = prefix.length + message.data.length;
    for (;;) {
      if (this.#stopped || this.#broken) return;
      const room = this.#pool.check(shard, bodyLength);
      if (room === 'ok') break;
      if (room !== 'full') {
        this.#fail(`its shard thread cannot take writes (${room})`);
        return;
      }
      await new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
    }
    const header = {
      eventCount: events,
      flags: kFlagLog | (command ? kFlagCommand : 0),
      receivedAt: Number(headers?.get(kHeaders.receivedAt) || 0),
      firstSeq: first,
    };
    const rejected = Number(headers?.get(kHeaders.rejected) || 0);
    const msgId = headers?.get('Nats-Msg-Id') ?? '';
    this.#queued = position;
    this.#behind = message.info.pending;
    this.#pool.queue(shard, { ...header, rejected }, [prefix, message.data], bodyLength, {
      settle: (outcome) => this.#settled(position, msgId, outcome, events > 0),
    });
  }

  #fail(reason: string): void {
    this.#failure = `replica of shard ${this.#options.shard}: ${reason}`;
    this.#broken = true;
    this.#messages?.stop();
    for (const wake of this.#roomWaiters.splice(0)) wake();
  }

  #settled(position: LogPosition, msgId: string, outcome: FrameOutcome | Error, carriedEvents: boolean): void {
    for (const wake of this.#roomWaiters.splice(0)) wake();
    if (outcome instanceof Error) {
      // The thread failed this frame and every one queued after it: start again after the last committed.
      if (!this.#broken) this.#fail(outcome.message);
      return;
    }
    this.#committed = position;
    this.#failure = null;
    if (msgId !== '') this.#board.applied(msgId, { inserted: outcome.inserted, statuses: outcome.statuses ?? new Uint8Array(0) });
    this.#options.onApplied(this.#options.shard, position, carriedEvents);
    if (this.#caughtUpWaiters.length > 0) {
      this.#caughtUpWaiters = this.#caughtUpWaiters.filter((waiter) => {
        if (waiter.target > position.seq) return true;
        waiter.resolve();
        return false;
      });
    }
  }
}
