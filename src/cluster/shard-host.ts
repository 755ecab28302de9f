/**
 * One shard's replica on this node (../shared/spec/cluster.md §2.4): it reads the shard's stream
 * position by position, from the one after the last applied, and feeds the embedded shard thread
 * through its ring, one log message per frame. The thread applies each message in one transaction
 * at its position and no other (ShardDb's `s == last + 1` check), with seqs from the log clock
 * (log-clock.ts), so every replica's file holds the same rows, verdicts and counters.
 *
 * Why not a JetStream consumer: with nats-server 2.9.10 and nats.js 2.29, an ordered consumer
 * whose server died could stall for good while its stream went on (seen here, with no error), and
 * recreating consumers during a failover flooded the JetStream API. Reading by position keeps no
 * state on the servers at all: a core subscription to the shard's subject is the doorbell (every
 * publish rings it), and gets by sequence, answered by the stream's leader, fetch the messages,
 * several in flight at once. A poll covers a missed doorbell, so a failover only
 * delays the reads until some server answers again.
 *
 * The loop waits for ring room before it fetches more, so a slow disk slows the reads, never grows
 * memory. A failed commit fails the frames queued after it; the host then goes on after the last
 * committed position, so nothing is skipped and nothing applied twice.
 */
import type { NatsConnection, StoredMsg, Subscription } from 'nats';
import { packMessage } from '../ring/codec.js';
import { kFlagCommand, kFlagLog } from '../ring/layout.js';
import type { LogPosition } from '../store/shard-db.js';
import type { FrameOutcome, ShardPool } from '../workers/shard-pool.js';
import { clockAfter, firstSeqOf, timestampMicrosOf } from './log-clock.js';
import { kHeaders, subjectOf } from './log-message.js';
import type { VerdictBoard } from './verdicts.js';

/** Gets by sequence (nats.js's `jsm.streams.getMessage`). */
export interface LogReader {
  getMessage(stream: string, query: { seq: number }): Promise<StoredMsg>;
}

export interface ShardHostOptions {
  readonly shard: number;
  readonly shards: number;
  readonly stream: string;
  /** Pause before going on after a failed commit, ms. */
  readonly retryMs: number;
  /** Runs after every applied message, with the shard's new position and whether the message carried events. */
  readonly onApplied: (shard: number, position: LogPosition, carriedEvents: boolean) => void;
}

/** Most gets in flight for one shard. */
const kMaxWindow = 64;
/** How often the host looks for messages without a doorbell (one lost, or a server that was down). */
const kPollMs = 200;
/** A doorbell may ring before the replica that answers has the message: look again this soon. */
const kEarlyMs = 2;

export class ShardHost {
  readonly #nc: NatsConnection;
  readonly #reader: LogReader;
  readonly #pool: ShardPool;
  readonly #board: VerdictBoard;
  readonly #options: ShardHostOptions;
  /** The last position the shard thread committed. */
  #committed: LogPosition;
  /** The last position queued to the ring (ahead of `committed` while frames are in it). */
  #queued: LogPosition;
  #stopped = false;
  /** Why the replica is not applying (reported until a commit succeeds again). */
  #failure: string | null = null;
  /** Frames failed: go on from the last committed position. */
  #broken = false;
  /** Whether the last read found the end of the stream. */
  #atEnd = false;
  /** Doorbells not yet matched by a message read: how many gets to send at once. */
  #rung = 0;
  #wake: (() => void) | null = null;
  #roomWaiters: (() => void)[] = [];
  #caughtUpWaiters: { target: number; resolve: () => void }[] = [];
  #doorbell: Subscription | null = null;
  #running: Promise<void> = Promise.resolve();

  constructor(nc: NatsConnection, reader: LogReader, pool: ShardPool, board: VerdictBoard, options: ShardHostOptions, start: LogPosition) {
    this.#nc = nc;
    this.#reader = reader;
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

  /** Whether the replica's last read reached the end of the stream (what it read may still be committing). */
  get caughtUp(): boolean {
    return this.#atEnd && this.#failure === null;
  }

  start(): void {
    this.#doorbell = this.#nc.subscribe(subjectOf(this.#options.shard), {
      callback: () => {
        this.#rung++;
        this.#wakeUp();
      },
    });
    this.#running = this.#run();
  }

  /** Resolves once the replica has applied position `target` (at start: the stream's last). */
  reach(target: number): Promise<void> {
    if (this.#committed.seq >= target) return Promise.resolve();
    return new Promise((resolve) => this.#caughtUpWaiters.push({ target, resolve }));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#doorbell?.unsubscribe();
    this.#wakeUp();
    for (const wake of this.#roomWaiters.splice(0)) wake();
    await this.#running;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      if (this.#broken) {
        await new Promise((resolve) => setTimeout(resolve, this.#options.retryMs));
        // Frames after the failed one were failed too: read again from the last committed position.
        this.#queued = this.#committed;
        this.#broken = false;
      }
      const messages = await this.#fetch(this.#queued.seq + 1, Math.min(kMaxWindow, Math.max(1, this.#rung)));
      if (messages.length === 0) {
        if (this.#rung > 0) {
          // Rung, but not there yet (or a publish the stream dropped as a duplicate): look again soon, then forget it.
          this.#rung--;
          await this.#sleep(kEarlyMs);
        } else await this.#sleep(kPollMs);
        continue;
      }
      this.#rung = Math.max(0, this.#rung - messages.length);
      for (const message of messages) {
        if (this.#stopped || this.#broken) break;
        await this.#queue(message);
      }
    }
  }

  /** The messages from `from` on, up to `window` of them, stopping at the first one no server has. */
  async #fetch(from: number, window: number): Promise<StoredMsg[]> {
    const gets = Array.from({ length: window }, (_, offset) => this.#reader.getMessage(this.#options.stream, { seq: from + offset }).catch(() => null));
    const found: StoredMsg[] = [];
    for (const get of gets) {
      const message = await get;
      if (message === null || message.seq !== from + found.length) break;
      found.push(message);
    }
    // Fewer than asked for: this read reached the end of the stream.
    this.#atEnd = found.length < window;
    return found;
  }

  /** Writes one message into the ring as one frame, once there is room. */
  async #queue(message: StoredMsg): Promise<void> {
    const { shard, shards } = this.#options;
    const headers = message.header;
    const events = Number(headers.get(kHeaders.events) || 0);
    const command = headers.get(kHeaders.command) === '1';
    // A tick names the clock to reach; every other message starts at its log timestamp.
    const at = Math.max(timestampMicrosOf(message.timestamp), Number(headers.get(kHeaders.clock) || 0));
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
      receivedAt: Number(headers.get(kHeaders.receivedAt) || 0),
      firstSeq: first,
      rejected: Number(headers.get(kHeaders.rejected) || 0),
    };
    const msgId = headers.get('Nats-Msg-Id');
    this.#queued = position;
    this.#pool.queue(shard, header, [prefix, message.data], bodyLength, {
      settle: (outcome) => this.#settled(position, msgId, outcome, events > 0),
    });
  }

  #fail(reason: string): void {
    this.#failure = `replica of shard ${this.#options.shard}: ${reason}`;
    this.#broken = true;
    this.#wakeUp();
    for (const wake of this.#roomWaiters.splice(0)) wake();
  }

  #settled(position: LogPosition, msgId: string, outcome: FrameOutcome | Error, carriedEvents: boolean): void {
    for (const wake of this.#roomWaiters.splice(0)) wake();
    if (outcome instanceof Error) {
      // The thread failed this frame and every one queued after it.
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

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
    });
  }

  #wakeUp(): void {
    this.#wake?.();
  }
}
