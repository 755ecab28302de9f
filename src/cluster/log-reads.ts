/**
 * A replica's reads of its shard's log (shard-host.ts). Two ways, one contract (`read(from, n)`
 * gives the messages from `from` on, in order, stopping at the first it does not have):
 *
 * - **Following** (the normal case): an ordered consumer from `from` pushes the messages in
 *   batches into a bounded buffer, and `read` takes them from there. Measured against gets by
 *   sequence (bench/log-feed.ts, BENCHMARKS.md): 11.7× the messages/s for small messages and 4.8×
 *   for 64 KiB ones, at about a tenth of the CPU on the client and on the servers. An ordered
 *   consumer whose server died could stall with no error (nats-server 2.9.10, nats.js 2.29): the
 *   replica watchdog sees a log that goes on while the replica does not, and `reset()` makes a new
 *   one at the right position.
 * - **Gets by sequence**, a window of them in flight, answered by the stream's leader: what a
 *   reader without `follow` uses (and what this file did alone before).
 *
 * Reads failing for longer than `kReadFailureMs` become a `problem`: a node whose NATS server lost
 * its quorum still has a connection, and must not look caught up or healthy meanwhile.
 */
import { isApiError } from './nats-errors.js';
import type { StoredMsg } from 'nats';
import type { Extent } from './replica-watchdog.js';

/** What a replica needs of a log message: the rest of `StoredMsg` is never read. */
export type LogMessage = Pick<StoredMsg, 'seq' | 'header' | 'data' | 'timestamp'>;

/** A message as a follower delivers it, with how many the stream held after it then. */
export interface FollowedMessage {
  readonly message: LogMessage;
  readonly pending: number;
}

/** The log followed from a position: its messages in order until closed. */
export interface LogFollower {
  readonly messages: AsyncIterable<FollowedMessage>;
  close(): void;
}

/** Gets by sequence (nats.js's `jsm.streams.getMessage`), the stream's extent (`jsm.streams.info`), and optionally a follower. */
export interface LogReader {
  getMessage(stream: string, query: { seq: number }): Promise<LogMessage>;
  extent(stream: string): Promise<Extent>;
  follow?(stream: string, from: number): Promise<LogFollower>;
}

/** Reads failing this long (a stream without a leader, a server cut off from its quorum): the replica says so. */
const kReadFailureMs = 3000;
/** Messages a follower may hold ahead of the replica: the ring's room, not this, paces the reads. */
const kFollowBuffer = 512;
/**
 * A follower silent this long is checked by one get of the next position: a message there means
 * the follower stalled (read on by gets, and make a new one); an error counts as a failed read, as
 * on the gets path, so a server cut off from its quorum is reported whichever path is in use.
 */
const kFollowCheckMs = 1000;
/** After a follower could not be made (no stream leader, the API timing out in a failover), read by gets this long before trying again. */
const kFollowRetryMs = 1000;
/** Making a follower takes a few JetStream API calls: past this, read by gets instead (a late one is closed unused). */
const kFollowMakeMs = 2000;

interface Following {
  readonly follower: LogFollower;
  /** The seq the next message from this follower must have. */
  next: number;
  /** The stream's last seq when the follower was made: until a message says otherwise, the end. */
  readonly lastAtStart: number;
  /** `pending` of the last message it delivered; null before the first. */
  pending: number | null;
  readonly buffer: FollowedMessage[];
  /** Resolves the pump's wait for buffer room. */
  room: (() => void) | null;
  /** When it last delivered, or was checked by a get. */
  heardAt: number;
  failed: Error | null;
  closed: boolean;
}

export class LogReads {
  readonly #reader: LogReader;
  readonly #stream: string;
  readonly #shard: number;
  /** Called when a follower delivered something: the reader loop may be asleep. */
  readonly #onArrival: () => void;
  #failingSince: number | null = null;
  #following: Following | null = null;
  #followAgainAt = 0;
  /** Whether the last read found the end of the stream. */
  atEnd = false;
  /** Why the reads fail, once they failed for a while; null while they work. */
  problem: string | null = null;

  constructor(reader: LogReader, stream: string, shard: number, onArrival: () => void = () => {}) {
    this.#reader = reader;
    this.#stream = stream;
    this.#shard = shard;
    this.#onArrival = onArrival;
  }

  /** The messages from `from` on: what the follower has (any number), else up to `window` gets. */
  async read(from: number, window: number): Promise<LogMessage[]> {
    if (this.#reader.follow === undefined || performance.now() < this.#followAgainAt) return this.#get(from, window);
    let following = this.#following;
    if (following !== null && (following.failed !== null || following.closed || (following.buffer[0]?.message.seq ?? following.next) !== from)) {
      // Behind a rebuild, a failed commit read again, or a follower that failed: start afresh at `from`.
      if (following.failed !== null) this.#failed(following.failed);
      this.reset();
      following = null;
    }
    if (following === null) {
      try {
        following = await this.#follow(from);
        this.#following = following;
        this.#succeeded();
      } catch {
        // Making a consumer needs the JetStream API, which a failover can keep busy for seconds:
        // read on by gets meanwhile (their failures are what reports the replica unhealthy).
        this.#followAgainAt = performance.now() + kFollowRetryMs;
        return this.#get(from, window);
      }
    }
    const found = following.buffer.splice(0, following.buffer.length).map((item) => item.message);
    following.room?.();
    if (found.length === 0 && performance.now() - following.heardAt > kFollowCheckMs) {
      following.heardAt = performance.now();
      const probe = await this.#get(from, 1);
      if (probe.length > 0) this.reset();
      return probe;
    }
    if (found.length > 0) this.#succeeded();
    this.atEnd = following.pending === null ? from + found.length > following.lastAtStart : following.pending === 0 && following.buffer.length === 0;
    return found;
  }

  /** Drops the follower (the watchdog saw no progress, or the replica stops); the next read makes a new one. */
  reset(): void {
    const following = this.#following;
    this.#following = null;
    if (following === null) return;
    following.closed = true;
    following.room?.();
    following.follower.close();
  }

  /** A follower from `from`, or a rejection within kFollowMakeMs; one made too late is closed. */
  #follow(from: number): Promise<Following> {
    const making = (async () => {
      const { last } = await this.#reader.extent(this.#stream);
      const follower = await this.#reader.follow!(this.#stream, from);
      const following: Following = { follower, next: from, lastAtStart: last, pending: null, buffer: [], room: null, heardAt: performance.now(), failed: null, closed: false };
      return following;
    })();
    return new Promise((resolve, reject) => {
      let late = false;
      const timer = setTimeout(() => {
        late = true;
        reject(new Error(`no log follower within ${kFollowMakeMs} ms`));
      }, kFollowMakeMs);
      making.then(
        (following) => {
          clearTimeout(timer);
          if (late) following.follower.close();
          else {
            void this.#pump(following);
            resolve(following);
          }
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  async #pump(following: Following): Promise<void> {
    try {
      for await (const item of following.follower.messages) {
        if (following.closed) return;
        if (item.message.seq !== following.next) {
          // A gap (purged below it) or a repeat: the gets path and the watchdog sort gaps out.
          throw new Error(`the log follower gave position ${item.message.seq} where ${following.next} was next`);
        }
        following.next++;
        following.pending = item.pending;
        following.heardAt = performance.now();
        following.buffer.push(item);
        this.#onArrival();
        while (following.buffer.length >= kFollowBuffer && !following.closed) await new Promise<void>((resolve) => (following.room = resolve));
        following.room = null;
      }
    } catch (error) {
      if (!following.closed) following.failed = error instanceof Error ? error : new Error(String(error));
    }
    if (!following.closed) {
      following.failed ??= new Error('the log follower ended');
      this.#onArrival();
    }
  }

  async #get(from: number, window: number): Promise<LogMessage[]> {
    const gets = Array.from({ length: window }, (_, offset) => this.#reader.getMessage(this.#stream, { seq: from + offset }).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))));
    const found: LogMessage[] = [];
    let failed: Error | null = null;
    for (const get of gets) {
      const message = await get;
      if (message instanceof Error) {
        if (!isApiError(message, 'noMessageFound')) failed = message;
        break;
      }
      if (message.seq !== from + found.length) break;
      found.push(message);
    }
    // Fewer than asked for, and no read failed: this read reached the end of the stream.
    this.atEnd = failed === null && found.length < window;
    if (failed === null) this.#succeeded();
    else this.#failed(failed);
    return found;
  }

  #succeeded(): void {
    this.#failingSince = null;
    this.problem = null;
  }

  #failed(error: Error): void {
    this.#failingSince ??= performance.now();
    if (performance.now() - this.#failingSince > kReadFailureMs) this.problem = `replica of shard ${this.#shard}: cannot read its log for ${kReadFailureMs} ms (${error.message})`;
  }
}
