import type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, us_socket_context_t } from 'uWebSockets.js';
import { toAggregatorError } from '../errors.js';
import type { PageResult, PageTask } from '../workers/protocol.js';
import type { Authenticator } from '../http/auth.js';
import { encodeCursor, parseEventsQuery } from '../events/query.js';
import type { Sequencer } from './sequencer.js';

export interface TailOptions {
  /** Bytes a subscriber may leave unread before it is cut off with 4008 too_slow. */
  readonly maxBacklogBytes: number;
  /** Events per message. */
  readonly pageSize: number;
  /** The largest event, to bound the size of one message. */
  readonly maxEventBytes: number;
}

export interface TailSources {
  readonly sequencer: Sequencer;
  readonly page: (task: PageTask) => Promise<PageResult>;
  readonly auth: Authenticator;
}

interface Subscriber {
  readonly topic: string | null;
  /** Everything up to this seq was sent (or does not match the topic). */
  afterSeq: number;
  reading: boolean;
  closed: boolean;
}

export const kTooSlowCode = 4008;
export const kTooSlowReason = 'too_slow';
const kRetryMs = 100;

/**
 * GET /tail: a WebSocket that replays committed events after a cursor, then follows new commits.
 * Replay and live are one mechanism: whenever the commit watermark passes a subscriber's cursor,
 * a reader thread fetches the next page up to the watermark. So the stream is in seq order with
 * no gap and no repeat by construction, and at most one page per subscriber is ever in flight:
 * a slow subscriber costs a bounded backlog, never ingest throughput.
 */
export class TailHub {
  readonly #options: TailOptions;
  readonly #sources: TailSources;
  readonly #subscribers = new Set<WebSocket<Subscriber>>();
  #pumpScheduled = false;

  constructor(options: TailOptions, sources: TailSources) {
    this.#options = options;
    this.#sources = sources;
    // Commits finish thousands of times a second; wake the subscribers once per turn of the loop.
    sources.sequencer.onAdvance(() => this.#schedulePump());
  }

  attach(app: TemplatedApp, path: string): void {
    app.ws<Subscriber>(path, {
      maxPayloadLength: 1024, // subscribers have nothing to say
      // The backlog is checked before each page is read, so a subscriber holds at most the backlog
      // plus one page. uWS's own limit sits above that: past it uWS drops frames (the close frame
      // too, which would end the stream with 1006 instead of 4008).
      maxBackpressure: this.#options.maxBacklogBytes + this.#options.pageSize * this.#options.maxEventBytes + 64 * 1024,
      closeOnBackpressureLimit: 0,
      idleTimeout: 120,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => this.#upgrade(res, req, context),
      open: (ws) => {
        this.#subscribers.add(ws);
        this.#pump(ws);
      },
      drain: (ws) => this.#pump(ws),
      close: (ws) => {
        ws.getUserData().closed = true;
        this.#subscribers.delete(ws);
      },
    });
  }

  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  /** Closes every subscriber (1001 going away); each can resume elsewhere with its last cursor. */
  closeAll(): void {
    for (const ws of [...this.#subscribers]) ws.end(1001, 'shutting down');
  }

  #upgrade(res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void {
    try {
      const params = new URLSearchParams(req.getQuery() ?? '');
      // Browsers cannot set headers on a WebSocket, so the token may also come as ?access_token= (RFC 6750).
      const token = params.get('access_token');
      const denied = this.#sources.auth.check(token ? `Bearer ${token}` : req.getHeader('authorization'), 'read');
      if (denied) throw denied;
      const query = parseEventsQuery(params);
      // No cursor: from now on, i.e. after everything visible at this moment.
      const afterSeq = params.get('after') ? query.afterSeq : this.#sources.sequencer.watermark;
      const subscriber: Subscriber = { topic: query.topic, afterSeq, reading: false, closed: false };
      res.upgrade(subscriber, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
    } catch (error) {
      const failure = toAggregatorError(error);
      res.writeStatus(`${failure.status} ${failure.code}`).writeHeader('Content-Type', 'application/json').end(JSON.stringify(failure));
    }
  }

  #schedulePump(): void {
    if (this.#pumpScheduled || this.#subscribers.size === 0) return;
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      for (const ws of this.#subscribers) this.#pump(ws);
    });
  }

  #pump(ws: WebSocket<Subscriber>): void {
    const subscriber = ws.getUserData();
    if (subscriber.reading || subscriber.closed) return;
    const maxSeq = this.#sources.sequencer.watermark;
    if (maxSeq <= subscriber.afterSeq) return;
    if (ws.getBufferedAmount() > this.#options.maxBacklogBytes) {
      ws.end(kTooSlowCode, kTooSlowReason);
      return;
    }
    subscriber.reading = true;
    const limit = this.#options.pageSize;
    this.#sources.page({ topic: subscriber.topic, afterSeq: subscriber.afterSeq, maxSeq, limit }).then(
      (page) => {
        subscriber.reading = false;
        if (subscriber.closed) return;
        if (page.lastSeq !== null) {
          const sent = ws.send(`{"events":${page.eventsJson},"next":"${encodeCursor(page.lastSeq)}"}`, false);
          // 2 = dropped at the backpressure limit: the stream would have a gap, so end it instead.
          if (sent === 2) return ws.end(kTooSlowCode, kTooSlowReason);
        }
        // A short page holds everything up to maxSeq: the cursor may skip the rest of that range.
        subscriber.afterSeq = page.count < limit ? maxSeq : page.lastSeq!;
        this.#pump(ws);
      },
      () => {
        // The readers are saturated: try again shortly rather than waiting for the next commit.
        subscriber.reading = false;
        setTimeout(() => this.#pump(ws), kRetryMs).unref();
      },
    );
  }
}
