/**
 * The cluster's commit path (../shared/spec/cluster.md §2): a request's frames go into the shard
 * logs, and the request is answered once every message that carries them has its PubAck (the
 * durable point: a quorum of NATS nodes holds it) and its verdict (this node's replica applied
 * it; verdicts.ts).
 *
 * Frames for the same shard queued in one turn of the event loop travel as one message, split at
 * `kMaxMessageBytes`, and while a shard has `kPipelined` messages out the next one keeps
 * gathering: 64 concurrent single-event requests cost a few messages per shard, not one each. A frame larger than one message is cut into parts at record boundaries.
 *
 * The bytes in flight per shard are bounded: past the bound a request gets 503 (`full`), as a
 * full ring does in the embedded engine.
 */
import type { GroupCommand, GroupReply } from '../groups/model.js';
import { headers as natsHeaders } from 'nats';
import { roomRefusal } from '../ingest/pipeline.js';
import type { CommitRequest, DeletionRequest, DeletionResult, RequestVerdict, RoomCheck, ShardFrame } from '../ingest/storage.js';
import { packMessage } from '../ring/codec.js';
import { kDeletionLimit, type DeleteCommand } from '../store/deletion.js';
import type { ExpireCommand } from '../store/log-expiry.js';
import { kHeaders, kMaxMessageBytes, subjectOf } from './log-message.js';
import type { StreamPublisher } from './stream-publisher.js';
import type { AppliedMessage, VerdictBoard } from './verdicts.js';

/**
 * Messages a shard may have out, unacknowledged, before new frames wait for one to come back: what
 * gathers meanwhile travels as one message, so under load messages grow instead of multiplying.
 */
const kPipelined = 2;

export interface PublishPathOptions {
  readonly shards: number;
  /** Bytes one shard may have published and not yet applied: the backpressure bound. */
  readonly inFlightBytes: number;
  /** How long a message may wait for this node's replica after its PubAck, ms. */
  readonly verdictTimeoutMs: number;
  /** Why writes are refused now (NATS unreachable, a replica failing, the disk floor), checked per request. */
  readonly refusal: () => RoomCheck | null;
  readonly problems: () => readonly string[];
  /**
   * Where the replicas of `shard` push verdicts for this node, when it holds no caught-up replica of
   * it (null: its own replica applies what it publishes); and, after the PubAck of such a message,
   * the fallback that asks the replicas if no push comes (verdict-relay.ts).
   */
  readonly remoteVerdicts: { replyTo(shard: number): string | null; follow(shard: number, msgId: string, seq: number): void };
  /** Rings the shard's doorbell: a message of it is in the log (log-message.ts, `bellOf`). */
  readonly ring: (shard: number) => void;
}

/** A contiguous run of one frame's records in one message: its verdicts land at the frame's request positions. */
interface Part {
  readonly frame: ShardFrame;
  readonly from: number;
  readonly to: number;
  readonly done: (error: Error | null, part: Part, statuses: Uint8Array | null) => void;
}

interface OpenMessage {
  readonly chunks: Uint8Array[];
  bytes: number;
  readonly parts: Part[];
  /** When its first part was added (performance.now()): the publish deadline counts from here. */
  readonly openedAt: number;
}

export class PublishPath {
  readonly #publisher: StreamPublisher;
  readonly #board: VerdictBoard;
  readonly #options: PublishPathOptions;
  readonly #open: (OpenMessage | null)[];
  readonly #inFlight: number[];
  #pendingRejected = 0;
  #flushScheduled = false;
  /** Messages published or being published and not yet settled. */
  #sending = 0;
  /** Per shard, messages sent and not yet acknowledged by the stream. */
  readonly #unacknowledged: number[];
  /** Per shard, messages published for this node's own replica to settle (no reply header), not yet settled. */
  readonly #ownVerdicts: number[];
  #ownVerdictWaiters: { shard: number; resolve: () => void }[] = [];
  #drainWaiters: (() => void)[] = [];

  constructor(publisher: StreamPublisher, board: VerdictBoard, options: PublishPathOptions) {
    this.#publisher = publisher;
    this.#board = board;
    this.#options = options;
    this.#open = new Array<OpenMessage | null>(options.shards).fill(null);
    this.#inFlight = new Array<number>(options.shards).fill(0);
    this.#unacknowledged = new Array<number>(options.shards).fill(0);
    this.#ownVerdicts = new Array<number>(options.shards).fill(0);
  }

  get frameCapacity(): number {
    return this.#options.inFlightBytes;
  }

  freeBytes(): number {
    return this.#inFlight.reduce((free, used) => free + Math.max(0, this.#options.inFlightBytes - used), 0);
  }

  check(shard: number, bodyLength: number): RoomCheck {
    const refusal = this.#options.refusal();
    if (refusal !== null) return refusal;
    if (bodyLength > this.#options.inFlightBytes) return 'too_large';
    return this.#inFlight[shard]! + bodyLength <= this.#options.inFlightBytes ? 'ok' : 'full';
  }

  commit(frames: readonly ShardFrame[], request: CommitRequest): Promise<RequestVerdict> {
    return new Promise((resolve, reject) => {
      const statuses = new Uint8Array(request.eventCount);
      let unique = 0;
      let remaining = 0;
      let failure: Error | null = null;
      const done = (error: Error | null, part: Part, applied: Uint8Array | null): void => {
        if (error) failure ??= error;
        else {
          for (let index = part.from; index < part.to; index++) {
            const status = applied![index - part.from]!;
            statuses[part.frame.indexes[index]!] = status;
            unique += status;
          }
        }
        if (--remaining > 0) return;
        if (failure) reject(failure);
        else resolve({ unique, statuses: request.wantsStatuses ? statuses : null });
      };
      for (const frame of frames) {
        let from = 0;
        let bytes = 0;
        for (let index = 0; index < frame.chunks.length; index++) {
          const length = frame.chunks[index]!.length;
          if (bytes + length > kMaxMessageBytes - (this.#open[frame.shard]?.bytes ?? 0)) {
            // The record does not fit the shard's open message: what came before it closes a part, and the message goes.
            if (index > from) {
              remaining++;
              this.#add(frame, from, index, bytes, done);
              from = index;
              bytes = 0;
            }
            this.#flush(frame.shard);
          }
          bytes += length;
        }
        remaining++;
        this.#add(frame, from, frame.chunks.length, bytes, done);
      }
      if (remaining === 0) resolve({ unique: 0, statuses: request.wantsStatuses ? statuses : null });
      this.#scheduleFlush();
    });
  }

  /** Counted by the replicas when they apply the next message this node sends (an empty one if none is due). */
  recordRejected(count: number): void {
    this.#pendingRejected += count;
    this.#scheduleFlush();
  }

  /** A deletion is one command message per shard: every replica removes the same rows at the same log position. */
  async delete(request: DeletionRequest): Promise<DeletionResult> {
    const command: DeleteCommand = { kind: 'delete', ...request, limit: kDeletionLimit, at: Date.now() };
    const body = packMessage(command);
    for (let shard = 0; shard < this.#options.shards; shard++) {
      const room = this.check(shard, body.length);
      if (room !== 'ok' && room !== 'disk_full') throw roomRefusal(room, shard, this.#options.problems);
    }
    const outcomes = await Promise.all(Array.from({ length: this.#options.shards }, (_, shard) => this.#send(shard, [body], body.length, 0, true)));
    return { deleted: outcomes.reduce((sum, outcome) => sum + outcome.inserted, 0), more: outcomes.some((outcome) => outcome.inserted >= kDeletionLimit) };
  }

  /** A consumer group command is a command message to one shard: every replica changes the group's state alike, at the same log position. */
  async groupCommand(shard: number, command: GroupCommand): Promise<GroupReply> {
    const body = packMessage(command);
    const room = this.check(shard, body.length);
    if (room !== 'ok' && room !== 'disk_full') throw roomRefusal(room, shard, this.#options.problems);
    return (await this.#send(shard, [body], body.length, 0, true)).reply!;
  }

  /** The owner's expiry for one shard (maintenance.ts), a command like a deletion's; resolves with the count this node's replica expired. */
  async expire(shard: number, command: ExpireCommand): Promise<number> {
    const body = packMessage(command);
    return (await this.#send(shard, [body], body.length, 0, true)).inserted;
  }

  /** Resolves once every message taken so far is settled (a graceful stop). */
  drained(): Promise<void> {
    if (this.#sending === 0 && !this.#flushScheduled) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /**
   * Resolves once every message published so far for this node's own replica of `shard` to settle
   * is settled, or after `timeoutMs`: before the replica stops (the node lets the shard go), so
   * none of their requests waits for a verdict that would never come. The caller has already made
   * new messages ask for pushed verdicts (`remoteVerdicts.replyTo`).
   */
  ownVerdictsSettled(shard: number, timeoutMs: number): Promise<void> {
    if (this.#ownVerdicts[shard] === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = { shard, resolve: () => {} };
      const timer = setTimeout(() => waiter.resolve(), timeoutMs);
      waiter.resolve = () => {
        clearTimeout(timer);
        this.#ownVerdictWaiters = this.#ownVerdictWaiters.filter((other) => other !== waiter);
        resolve();
      };
      this.#ownVerdictWaiters.push(waiter);
    });
  }

  /** Fails every request still waiting (the node is stopping). */
  failAll(message: string): void {
    this.#board.failAll(message);
  }

  #add(frame: ShardFrame, from: number, to: number, bytes: number, done: Part['done']): void {
    let message = this.#open[frame.shard];
    if (!message) this.#open[frame.shard] = message = { chunks: [], bytes: 0, parts: [], openedAt: performance.now() };
    for (let index = from; index < to; index++) message.chunks.push(frame.chunks[index]!);
    message.bytes += bytes;
    message.parts.push({ frame, from, to, done });
    this.#inFlight[frame.shard]! += bytes;
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      if (this.#pendingRejected > 0 && !this.#open.some((message) => message !== null)) this.#open[0] = { chunks: [], bytes: 0, parts: [], openedAt: performance.now() };
      for (let shard = 0; shard < this.#open.length; shard++) if (this.#unacknowledged[shard]! < kPipelined) this.#flush(shard);
      if (this.#sending === 0) for (const resolve of this.#drainWaiters.splice(0)) resolve();
    });
  }

  #flush(shard: number): void {
    const message = this.#open[shard];
    if (!message) return;
    this.#open[shard] = null;
    const events = message.parts.reduce((sum, part) => sum + part.to - part.from, 0);
    const rejected = this.#pendingRejected;
    this.#pendingRejected = 0;
    this.#send(shard, message.chunks, message.bytes, events, false, rejected, message.openedAt).then(
      (applied) => {
        let offset = 0;
        for (const part of message.parts) {
          const count = part.to - part.from;
          part.done(null, part, applied.statuses.subarray(offset, offset + count));
          offset += count;
        }
      },
      (error: Error) => {
        for (const part of message.parts) part.done(error, part, null);
      },
    ).finally(() => {
      this.#inFlight[shard]! -= message.bytes;
    });
  }

  #ownVerdictSettled(shard: number): void {
    if (--this.#ownVerdicts[shard]! > 0) return;
    for (const waiter of this.#ownVerdictWaiters.filter((other) => other.shard === shard)) waiter.resolve();
  }

  #settledOne(): void {
    if (--this.#sending > 0 || this.#flushScheduled) return;
    for (const resolve of this.#drainWaiters.splice(0)) resolve();
  }

  /** Publishes one message under a fresh id; settles once it is in the log and this node applied it. */
  async #send(shard: number, chunks: readonly Uint8Array[], bytes: number, events: number, command: boolean, rejected = 0, since = performance.now()): Promise<AppliedMessage> {
    this.#sending++;
    try {
      return await this.#publish(shard, chunks, bytes, events, command, rejected, since);
    } finally {
      this.#settledOne();
    }
  }

  async #publish(shard: number, chunks: readonly Uint8Array[], bytes: number, events: number, command: boolean, rejected: number, since: number): Promise<AppliedMessage> {
    const msgId = this.#publisher.nextMsgId();
    const headers = natsHeaders();
    headers.set(kHeaders.events, String(events));
    headers.set(kHeaders.receivedAt, String(Date.now()));
    if (rejected > 0) headers.set(kHeaders.rejected, String(rejected));
    if (command) headers.set(kHeaders.command, '1');
    const replyTo = this.#options.remoteVerdicts.replyTo(shard);
    if (replyTo !== null) headers.set(kHeaders.reply, replyTo);
    const verdict = this.#board.expect(msgId, this.#options.verdictTimeoutMs);
    verdict.catch(() => {}); // awaited below, after the PubAck; a timeout before that is not unhandled
    if (replyTo === null) {
      this.#ownVerdicts[shard]!++;
      void verdict.catch(() => {}).finally(() => this.#ownVerdictSettled(shard));
    }
    try {
      this.#unacknowledged[shard]!++;
      const published = await this.#publisher.publishAs(msgId, subjectOf(shard), chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes), headers, since);
      this.#options.ring(shard);
      if (replyTo !== null) this.#options.remoteVerdicts.follow(shard, msgId, published.seq);
    } catch (error) {
      this.#board.forget(msgId);
      throw error;
    } finally {
      // What gathered while this one was out goes now, as one message.
      this.#unacknowledged[shard]!--;
      if (this.#open[shard] && !this.#flushScheduled) this.#flush(shard);
    }
    return verdict;
  }
}
