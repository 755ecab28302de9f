import type { EventFilter } from '../events/query.js';
import { encodeCursor, type CursorVersion } from '../events/cursor.js';
import type { SearchQuery } from '../search/query.js';
import type { PageSource, Watermark } from './storage.js';

export interface TailOptions {
  /** Bytes a subscriber may leave unread before it is cut off with 4008 too_slow. */
  readonly maxBacklogBytes: number;
  /** Events per message. */
  readonly pageSize: number;
}

/** What the hub needs of a subscriber's connection; the HTTP layer adapts its WebSocket to it. */
export interface TailConnection {
  /** False when the message was dropped (the connection is past its own backpressure limit). */
  send(message: string): boolean;
  /** Bytes sent but not yet taken by the client. */
  bufferedBytes(): number;
  end(code: number, reason: string): void;
}

export interface TailSubscription {
  readonly topic: string | null;
  readonly filter: EventFilter | null;
  /** `q`: search's grammar; null: every event the filter lets through. */
  readonly search: SearchQuery;
  /** Everything up to this seq was sent (or does not match the topic). */
  afterSeq: number;
}

export interface Subscriber extends TailSubscription {
  readonly connection: TailConnection;
  reading: boolean;
  closed: boolean;
}

export const kTooSlowCode = 4008;
const kTooSlowReason = 'too_slow';
const kRetryMs = 100;

/**
 * GET /tail without the socket: subscribers that replay committed events after a cursor, then
 * follow new commits. Replay and live are one mechanism: whenever the commit watermark passes a
 * subscriber's cursor, a reader thread fetches the next page up to the watermark. So the stream is
 * in seq order with no gap and no repeat by construction, and at most one page per subscriber is
 * ever in flight: a slow subscriber costs a bounded backlog, never ingest throughput.
 */
export class TailHub {
  readonly #options: TailOptions;
  readonly #watermark: Watermark;
  readonly #pages: PageSource;
  readonly #subscribers = new Set<Subscriber>();
  #pumpScheduled = false;

  constructor(options: TailOptions, watermark: Watermark, pages: PageSource) {
    this.#options = options;
    this.#watermark = watermark;
    this.#pages = pages;
    // Commits finish thousands of times a second; wake the subscribers once per turn of the loop.
    watermark.onAdvance(() => this.#schedulePump());
  }

  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  /** Where a new subscriber starts: after its cursor, or (none given) after everything visible now. */
  /** The cursors the engine under this hub takes. */
  get cursorVersion(): CursorVersion {
    return this.#watermark.cursorVersion;
  }

  subscription(topic: string | null, filter: EventFilter | null, search: SearchQuery, afterSeq: number | null): TailSubscription {
    return { topic, filter, search, afterSeq: afterSeq ?? this.#watermark.current };
  }

  /** Starts streaming to a connection; the handle goes back to `resume` and `closed`. */
  open(subscription: TailSubscription, connection: TailConnection): Subscriber {
    const subscriber: Subscriber = { ...subscription, connection, reading: false, closed: false };
    this.#subscribers.add(subscriber);
    this.#pump(subscriber);
    return subscriber;
  }

  /** The connection drained its backlog: send more. */
  resume(subscriber: Subscriber): void {
    this.#pump(subscriber);
  }

  closed(subscriber: Subscriber): void {
    subscriber.closed = true;
    this.#subscribers.delete(subscriber);
  }

  /** Closes every subscriber (1001 going away); each can resume elsewhere with its last cursor. */
  closeAll(): void {
    for (const subscriber of [...this.#subscribers]) subscriber.connection.end(1001, 'shutting down');
  }

  #schedulePump(): void {
    if (this.#pumpScheduled || this.#subscribers.size === 0) return;
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      for (const subscriber of this.#subscribers) this.#pump(subscriber);
    });
  }

  #pump(subscriber: Subscriber): void {
    if (subscriber.reading || subscriber.closed) return;
    const maxSeq = this.#watermark.current;
    if (maxSeq <= subscriber.afterSeq) return;
    const { connection } = subscriber;
    if (connection.bufferedBytes() > this.#options.maxBacklogBytes) return connection.end(kTooSlowCode, kTooSlowReason);
    subscriber.reading = true;
    const limit = this.#options.pageSize;
    this.#pages.page({ topic: subscriber.topic, filter: subscriber.filter, search: subscriber.search, afterSeq: subscriber.afterSeq, maxSeq, limit }).then(
      (page) => {
        subscriber.reading = false;
        if (subscriber.closed) return;
        // A dropped message would leave a gap in the stream: end it instead.
        if (page.lastSeq !== null && !connection.send(`{"events":${page.eventsJson},"next":"${encodeCursor(page.lastSeq, this.#watermark.cursorVersion)}"}`)) {
          return connection.end(kTooSlowCode, kTooSlowReason);
        }
        // Every match up to `through` was sent: a short page may skip the rest of its range (a
        // filtered scan that stopped at its row bound goes on from where it got to).
        subscriber.afterSeq = page.through;
        this.#pump(subscriber);
      },
      () => {
        // The readers are saturated: try again shortly rather than waiting for the next commit.
        subscriber.reading = false;
        setTimeout(() => this.#pump(subscriber), kRetryMs).unref();
      },
    );
  }
}
