/**
 * One shard's replica on this node (../shared/spec/cluster.md §2.4): it reads the shard's stream
 * position by position, from the one after the last applied, and feeds the embedded shard thread
 * through the local core, one log message at its position. The thread applies each message in one transaction
 * at its position and no other (ShardDb's `s == last + 1` check), with seqs from the log clock
 * (src/store/log-position.ts), so every replica's file holds the same rows, verdicts and counters.
 *
 * Why not a JetStream consumer: with nats-server 2.9.10 and nats.js 2.29, an ordered consumer
 * whose server died could stall for good while its stream went on (seen here, with no error).
 * Reading by position keeps no state on the servers: a core subscription to the shard's bell
 * (log-message.ts, rung by the node that published once the stream acknowledged) is the doorbell, and gets by sequence, answered by the stream's leader, fetch the messages,
 * several in flight at once. A poll covers a missed doorbell.
 *
 * The loop waits for ring room before it fetches more, so a slow disk slows the reads, never grows
 * memory. A failed commit fails the frames queued after it; the host then goes on after the last
 * committed position, so nothing is skipped and nothing applied twice.
 *
 * A watchdog (replica-watchdog.ts) reports a log that starts past this replica's next position;
 * the host then stops, says so, and rebuilds the replica from the latest snapshot before it reads on.
 */
import type { NatsConnection, StoredMsg, Subscription } from 'nats';
import { AggregatorError } from '../errors.js';
import type { LogPosition } from '../store/log-position.js';
import type { FrameOutcome, LocalShards } from '../local/local-shards.js';
import { logFrame, type LogFrame } from './log-frame.js';
import { LogReads, type LogReader } from './log-reads.js';
import { bellOf } from './log-message.js';
import { kWatchMs, ReplicaWatchdog } from './replica-watchdog.js';
import type { AppliedMessage, VerdictBoard } from './verdicts.js';

export interface ShardHostOptions {
  readonly shard: number;
  readonly shards: number;
  readonly stream: string;
  /** Pause before going on after a failed commit, ms. */
  readonly retryMs: number;
  /** Runs after every applied message, with the shard's new position and whether the message carried events. */
  readonly onApplied: (shard: number, position: LogPosition, carriedEvents: boolean) => void;
  /**
   * Replaces the replica with the latest snapshot, which must reach at least `through` (the log
   * starts after it); resolves with the position it holds. Nothing is queued to the shard meanwhile.
   */
  readonly rebuild: (shard: number, through: number) => Promise<LogPosition>;
  /** Something an operator should know (a gap, a rebuild, a restarted reader). */
  readonly onNotice: (message: string) => void;
  /** Pushes a verdict to a publishing node that holds no replica of the shard (verdict-relay.ts). */
  readonly push: (replyTo: string, msgId: string, outcome: AppliedMessage) => void;
}

/** Most gets in flight for one shard. */
const kMaxWindow = 64;
/** How often the host looks for messages without a doorbell (one lost, or a server that was down). */
const kPollMs = 200;
/** A doorbell may ring before the replica that answers has the message: look again this soon. */
const kEarlyMs = 2;
/** The longest pause between two failed rebuilds. */
const kRebuildBackoffMaxMs = 16_000;

export class ShardHost {
  readonly #nc: NatsConnection;
  readonly #local: LocalShards;
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
  /** Doorbells not yet matched by a message read: how many gets to send at once. */
  #rung = 0;
  #wake: (() => void) | null = null;
  #roomWaiters: (() => void)[] = [];
  #caughtUpWaiters: { target: number; resolve: () => void }[] = [];
  #doorbell: Subscription | null = null;
  #running: Promise<void> = Promise.resolve();
  /** Each reader loop's number: a loop that is no longer the current one stops at its next step. */
  #generation = 0;
  /** Set by the watchdog: the log's first position, past this replica's next one. */
  #gapAt: number | null = null;
  readonly #watchdog: ReplicaWatchdog;
  #progressAt = performance.now();
  #restored = 0;
  readonly #reads: LogReads;
  #eventClock: number;
  #reachedEnd = false;
  /** Rebuilds failed in a row: the back-off's exponent. */
  #rebuildFailures = 0;

  constructor(nc: NatsConnection, reader: LogReader, local: LocalShards, board: VerdictBoard, options: ShardHostOptions, start: LogPosition) {
    this.#nc = nc;
    this.#local = local;
    this.#board = board;
    this.#options = options;
    this.#committed = start;
    this.#queued = start;
    this.#eventClock = start.clock;
    this.#reads = new LogReads(reader, options.stream, options.shard);
    this.#watchdog = new ReplicaWatchdog(
      () => reader.extent(options.stream),
      {
        shard: options.shard,
        status: () => ({ position: this.#committed, idle: this.#queued.seq === this.#committed.seq, progressAt: this.#progressAt, rebuilding: this.#gapAt !== null }),
        gap: (first) => {
          this.#gapAt = first;
          this.#reachedEnd = false;
          this.#wakeUp();
          for (const wake of this.#roomWaiters.splice(0)) wake();
        },
        restartReader: () => this.#restartReader(),
      },
      options.onNotice,
    );
  }

  get shard(): number {
    return this.#options.shard;
  }

  get position(): LogPosition {
    return this.#committed;
  }

  /** The clock applied, and the clock of the last message that carried events (what ticks aim for). */
  get clocks(): { readonly clock: number; readonly eventClock: number } {
    return { clock: this.#committed.clock, eventClock: this.#eventClock };
  }

  /** The stream's first position as the watchdog last saw it (0 before its first look). */
  get logFirst(): number {
    return this.#watchdog.logFirst;
  }

  /** Whether the watchdog's last look found the shard's stream without a leader. */
  get leaderless(): boolean {
    return this.#watchdog.leaderless;
  }

  /** How often this replica was replaced by a snapshot. */
  get restored(): number {
    return this.#restored;
  }

  /** Why this replica cannot read its log, once that lasted a while; null while reads work. Writes are not refused for it: they stall or fail on their own. */
  get readProblem(): string | null {
    return this.#reads.problem;
  }

  /** Why this replica is not applying, or null. */
  get failure(): string | null {
    return this.#failure;
  }

  /**
   * Whether the replica reached the end of its stream at least once since it started (or was last
   * rebuilt): it is a copy to read from and to follow, though under load its last read may not be at the end.
   */
  get settled(): boolean {
    return this.#reachedEnd && this.#failure === null;
  }

  /** Whether the replica's last read reached the end of the stream (what it read may still be committing). */
  get caughtUp(): boolean {
    return this.#reads.atEnd && this.#failure === null;
  }

  start(): void {
    this.#restartReader();
    this.#watchdog.start();
  }

  /** Before `start`: the replica is empty and a snapshot exists, so it starts from that rather than replaying the whole log. */
  startFromSnapshot(): void {
    this.#gapAt = 1;
  }

  /** Resolves once the replica has applied position `target` (at start: the stream's last). */
  reach(target: number): Promise<void> {
    if (this.#committed.seq >= target) return Promise.resolve();
    return new Promise((resolve) => this.#caughtUpWaiters.push({ target, resolve }));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#watchdog.stop();
    this.#doorbell?.unsubscribe();
    this.#wakeUp();
    for (const wake of this.#roomWaiters.splice(0)) wake();
    await this.#running;
  }

  /** A fresh doorbell and reader loop; the previous loop, if any, stops at its next step. */
  #restartReader(): void {
    this.#doorbell?.unsubscribe();
    this.#doorbell = this.#nc.subscribe(bellOf(this.#options.shard), {
      callback: () => {
        this.#rung++;
        this.#wakeUp();
      },
    });
    const generation = ++this.#generation;
    const previous = this.#running;
    this.#wakeUp();
    this.#running = Promise.all([previous, this.#run(generation)]).then(() => {});
  }

  #current(generation: number): boolean {
    return !this.#stopped && generation === this.#generation;
  }

  async #run(generation: number): Promise<void> {
    while (this.#current(generation)) {
      if (this.#gapAt !== null) {
        await this.#rebuild(this.#gapAt);
        continue;
      }
      if (this.#broken) {
        await new Promise((resolve) => setTimeout(resolve, this.#options.retryMs));
        // Frames after the failed one were failed too: read again from the last committed position.
        this.#queued = this.#committed;
        this.#broken = false;
      }
      const messages = await this.#reads.read(this.#queued.seq + 1, Math.min(kMaxWindow, Math.max(1, this.#rung)));
      if (!this.#current(generation)) return;
      if (this.#reads.atEnd) this.#reachedEnd = true;
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
        if (!this.#current(generation) || this.#broken || this.#gapAt !== null) break;
        await this.#queue(message, generation);
      }
    }
  }

  /** Hands one message to the local core to apply at its position, once its shard has room. */
  async #queue(message: StoredMsg, generation: number): Promise<void> {
    const { shard, shards } = this.#options;
    const frame = logFrame(message, this.#queued.clock, shard, shards);
    for (;;) {
      if (!this.#current(generation) || this.#broken || this.#gapAt !== null) return;
      const room = this.#local.apply(shard, frame.entry, { settle: (outcome) => this.#settled(frame, outcome) });
      if (room === 'ok') break;
      if (room !== 'full') {
        this.#fail(`its shard thread cannot take writes (${room})`);
        return;
      }
      await new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
    }
    this.#queued = frame.position;
  }

  /**
   * The log starts at `first`, past this replica's next position. Applying on would skip what was
   * purged, so the replica waits for its queued frames, then is replaced by the latest snapshot
   * and reads on after it. Until then it reports the gap (the node refuses writes: its verdicts
   * would be late) and takes no lease. A rebuild that fails is tried again by the next loop turn.
   */
  async #rebuild(first: number): Promise<void> {
    const { shard } = this.#options;
    const applied = this.#committed.seq;
    this.#failure =
      first === 1
        ? `replica of shard ${shard}: starting from the latest snapshot`
        : `replica of shard ${shard}: gap: the log starts at ${first} and this replica applied through ${applied} (it was away across a purge); refusing to apply, rebuilding from the latest snapshot`;
    this.#options.onNotice(this.#failure);
    while (this.#queued.seq !== this.#committed.seq && !this.#broken && !this.#stopped) await new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
    if (this.#stopped) return;
    if (first > 1 && this.#committed.seq + 1 >= first) {
      // What was still queued reached the log's start after all: no gap.
      this.#gapAt = null;
      this.#failure = null;
      return;
    }
    try {
      const position = await this.#options.rebuild(shard, first - 1);
      this.#committed = position;
      this.#queued = position;
      this.#eventClock = position.clock;
      this.#broken = false;
      this.#rung = 0;
      this.#failure = null;
      this.#gapAt = null;
      this.#restored++;
      this.#progressAt = performance.now();
      this.#rebuildFailures = 0;
      this.#options.onNotice(`replica of shard ${shard}: restored a snapshot through log position ${position.seq}; reading on from ${position.seq + 1}`);
      this.#resolveReached(position.seq);
    } catch (error) {
      if (first === 1 && this.#committed.seq === 0 && error instanceof AggregatorError && error.code === 'snapshot_missing') {
        // Nothing to start from after all: replay the log from its beginning.
        this.#gapAt = null;
        this.#failure = null;
        return;
      }
      this.#failure = `replica of shard ${shard}: cannot rebuild from a snapshot: ${(error as Error).message}`;
      // Backs off (1 s, 2 s, … 16 s) and says so at the 1st, 2nd, 4th, 8th … failure: a NATS
      // cluster without a quorum for minutes must not flood the log or the object store.
      const failures = ++this.#rebuildFailures;
      if ((failures & (failures - 1)) === 0) this.#options.onNotice(`${this.#failure} (failure ${failures}; trying again with back-off)`);
      // Doorbells wake #sleep early: sleep on until the back-off is over (or the host stops).
      const until = performance.now() + Math.min(kWatchMs * 2 ** (failures - 1), kRebuildBackoffMaxMs);
      while (!this.#stopped && performance.now() < until) await this.#sleep(until - performance.now());
    }
  }

  #fail(reason: string): void {
    this.#failure = `replica of shard ${this.#options.shard}: ${reason}`;
    this.#broken = true;
    this.#wakeUp();
    for (const wake of this.#roomWaiters.splice(0)) wake();
  }

  #settled({ position, msgId, replyTo, carriesEvents }: LogFrame, outcome: FrameOutcome | Error): void {
    for (const wake of this.#roomWaiters.splice(0)) wake();
    if (outcome instanceof Error) {
      // The thread failed this frame and every one queued after it.
      if (!this.#broken) this.#fail(outcome.message);
      return;
    }
    this.#committed = position;
    if (carriesEvents) this.#eventClock = position.clock;
    this.#progressAt = performance.now();
    if (this.#gapAt === null) this.#failure = null;
    if (msgId !== '') {
      const applied = { inserted: outcome.inserted, statuses: outcome.statuses ?? new Uint8Array(0), ...(outcome.reply ? { reply: outcome.reply } : {}) };
      this.#board.applied(msgId, applied);
      if (replyTo !== '') this.#options.push(replyTo, msgId, applied);
    }
    this.#options.onApplied(this.#options.shard, position, carriesEvents);
    this.#resolveReached(position.seq);
  }

  #resolveReached(seq: number): void {
    if (this.#caughtUpWaiters.length === 0) return;
    this.#caughtUpWaiters = this.#caughtUpWaiters.filter((waiter) => {
      if (waiter.target > seq) return true;
      waiter.resolve();
      return false;
    });
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
