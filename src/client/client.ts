import { readPublishAnswer, type Verdict } from './answer.js';
import { EventBatcher } from './batcher.js';
import { ClientError, isRecord, type EventProblem } from './errors.js';
import { resolveClientOptions, type ClientOptions, type ResolvedClientOptions } from './options.js';
import { Transport } from './transport.js';

/** An event as POST /publish takes it (docs/API.md#event); the server checks the rules. */
export interface AggregatorEvent {
  /** 1-128 chars of [A-Za-z0-9._-], starting alphanumeric. */
  readonly topic: string;
  /** 1-128 chars, no control characters; (topic, event_id) is the event's identity. */
  readonly event_id: string;
  /** RFC 3339 with a zone, or a Date (sent as its UTC ISO string). */
  readonly timestamp: string | Date;
  readonly source: string;
  readonly payload: Readonly<Record<string, unknown>>;
}

/** One publish() between the call and its answer. */
interface Item {
  /** Publish order: flush() waits for every item up to a seq. */
  readonly seq: number;
  /** The event's JSON text, taken at publish(): the caller may reuse the object at once. */
  readonly json: string;
  readonly bytes: number;
  readonly resolve: (verdict: Verdict) => void;
  readonly reject: (error: Error) => void;
  /** In the buffer (counted in #held), rather than waiting for room. */
  admitted: boolean;
}

/**
 * Publishes events to the aggregator in batches, each answered with its own verdict once the
 * server committed it. The path of an event:
 *
 *   publish() ─► waiting (buffer full) ─► open batch ─► queue ─► request in flight ─► verdict
 *                                         (linger, size)  (concurrency)  (retries)     or error
 *
 * The buffer (open batch, queue, in flight) holds at most maxBufferedEvents; publish() never
 * refuses for a full buffer, its event waits its turn, so a producer that wants its memory bounded
 * awaits ready() (or each publish()) before producing more. Re-sending is safe everywhere: the
 * server dedups on (topic, event_id), so a retry of a request that did commit answers
 * `duplicate` for its events (possiblyStored in onRetry's notice says when that can happen).
 */
export class Client {
  readonly #options: ResolvedClientOptions;
  readonly #transport: Transport;
  readonly #batcher: EventBatcher<Item>;
  /** Every item not yet answered, in publish order (a Set iterates in insertion order). */
  readonly #outstanding = new Set<Item>();
  /** Items beyond maxBufferedEvents, in publish order. */
  #waiting: Item[] = [];
  /** Closed batches waiting for a request slot; re-sends of a split or trimmed batch go first. */
  readonly #queue: Item[][] = [];
  #held = 0;
  #inFlight = 0;
  #nextSeq = 0;
  readonly #flushes: { readonly upTo: number; readonly resolve: () => void }[] = [];
  #readyWaiters: { readonly resolve: () => void; readonly reject: (error: ClientError) => void }[] = [];
  #closed = false;
  #closing: Promise<void> | null = null;

  constructor(options: ClientOptions) {
    this.#options = resolveClientOptions(options);
    const { url, concurrency, maxRetries, timeoutMs, headers, tls, gzipMinBytes, maxBatchEvents } = this.#options;
    // An answer with verdicts is about 100 bytes per event (more for long ids): leave room for the longest.
    const maxAnswerBytes = 64 * 1024 + maxBatchEvents * 2048;
    this.#transport = new Transport({ url, concurrency, maxRetries, timeoutMs, headers, tls, gzipMinBytes, maxAnswerBytes });
    const { maxBatchBytes: maxBytes, lingerMs } = this.#options;
    this.#batcher = new EventBatcher<Item>({ maxEvents: maxBatchEvents, maxBytes, lingerMs }, (batch) => this.#enqueue(batch));
  }

  /** Events published and not answered yet (buffered or waiting for room). */
  get pending(): number {
    return this.#outstanding.size;
  }

  /**
   * Resolves with the event's verdict once the server committed it; rejects with a ClientError
   * (`invalid_event`, `refused`, `retries_exhausted`, `bad_reply`, `closed`, `aborted`).
   */
  publish(event: AggregatorEvent): Promise<Verdict> {
    if (this.#closed) return Promise.reject(closedError('publish()'));
    let json: string;
    try {
      json = serialize(event);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<Verdict>((resolve, reject) => {
      const item: Item = { seq: this.#nextSeq++, json, bytes: Buffer.byteLength(json), resolve, reject, admitted: false };
      this.#outstanding.add(item);
      if (this.#waiting.length === 0 && this.#held < this.#options.maxBufferedEvents) this.#admit(item);
      else this.#waiting.push(item);
    });
  }

  /**
   * Resolves when the buffer has room, so the next publish() goes straight into a batch: await it
   * before producing each event to keep memory bounded. Several producers awaiting it are all let
   * through together. Rejects with `closed` once close() or destroy() was called.
   */
  ready(): Promise<void> {
    if (this.#closed) return Promise.reject(closedError('ready()'));
    if (this.#hasRoom()) return Promise.resolve();
    return new Promise((resolve, reject) => this.#readyWaiters.push({ resolve, reject }));
  }

  /** Resolves once every event published before the call is answered; batches leave now, without their linger. */
  flush(): Promise<void> {
    const upTo = this.#nextSeq - 1;
    if (this.#oldestSeq() > upTo) return Promise.resolve();
    return new Promise((resolve) => {
      this.#flushes.push({ upTo, resolve });
      this.#batcher.cut();
    });
  }

  /**
   * Graceful and idempotent: publish() refuses from now on (`closed`), everything published before
   * is sent and answered, then the sockets are released. Every call returns the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  /** Stops at once: every unanswered publish() rejects with `aborted` (its event may or may not be stored), requests are cut. */
  destroy(reason?: unknown): void {
    this.#closed = true;
    const error = new ClientError('aborted', 'destroy() was called before this event was answered', { cause: reason });
    this.#batcher.drop();
    this.#queue.length = 0;
    this.#waiting = [];
    for (const item of [...this.#outstanding]) this.#settle(item, error);
    this.#rejectReadyWaiters();
    this.#afterSettling();
    this.#transport.destroy();
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    this.#rejectReadyWaiters();
    await this.flush();
    this.#transport.close();
  }

  #admit(item: Item): void {
    item.admitted = true;
    this.#held++;
    this.#batcher.add(item);
  }

  #enqueue(batch: Item[], first = false): void {
    if (first) this.#queue.unshift(batch);
    else this.#queue.push(batch);
    this.#pump();
  }

  #pump(): void {
    while (this.#inFlight < this.#options.concurrency && this.#queue.length > 0) {
      const batch = this.#queue.shift()!;
      this.#inFlight++;
      void this.#send(batch).finally(() => {
        this.#inFlight--;
        this.#pump();
      });
    }
  }

  /** One request for a batch, to its end; never rejects (every outcome settles the batch's items). */
  async #send(batch: Item[]): Promise<void> {
    try {
      const body = Buffer.from(`[${batch.map((item) => item.json).join(',')}]`);
      const answer = await this.#transport.send('POST', '/publish?results=1', { bytes: body, contentType: 'application/json' }, this.#options.onRetry);
      const outcome = readPublishAnswer(answer, batch.length);
      if (outcome.kind === 'verdicts') {
        batch.forEach((item, index) => this.#settle(item, outcome.verdicts[index]!));
      } else if (outcome.kind === 'invalid') {
        // A 422 stored nothing: the valid events go again at once, without the ones it named.
        const rest = batch.filter((item, index) => {
          const details = outcome.problems.get(index);
          if (details) this.#settle(item, invalidEvent(details));
          return !details;
        });
        if (rest.length > 0) this.#enqueue(rest, true);
      } else if (outcome.kind === 'split') {
        const half = Math.ceil(batch.length / 2);
        this.#enqueue(batch.slice(half), true);
        this.#enqueue(batch.slice(0, half), true);
      } else {
        for (const item of batch) this.#settle(item, outcome.error);
      }
    } catch (error) {
      // The transport's own failures (retries_exhausted, aborted) are ClientErrors; anything else is a bug, passed on as is.
      const failure = error instanceof Error ? error : new Error(String(error));
      for (const item of batch) this.#settle(item, failure);
    }
    this.#afterSettling();
  }

  #settle(item: Item, outcome: Verdict | Error): void {
    // Already answered: destroy() raced the request's answer.
    if (!this.#outstanding.delete(item)) return;
    if (item.admitted) this.#held--;
    if (outcome instanceof Error) item.reject(outcome);
    else item.resolve(outcome);
  }

  /** Room freed: let waiting events in, wake producers, answer the flushes that are complete. */
  #afterSettling(): void {
    while (this.#waiting.length > 0 && this.#held < this.#options.maxBufferedEvents) this.#admit(this.#waiting.shift()!);
    // A flush is waiting for these: they leave without their linger.
    if (this.#flushes.length > 0) this.#batcher.cut();
    if (this.#hasRoom() && this.#readyWaiters.length > 0) {
      const waiters = this.#readyWaiters;
      this.#readyWaiters = [];
      for (const waiter of waiters) waiter.resolve();
    }
    if (this.#flushes.length === 0) return;
    const oldest = this.#oldestSeq();
    for (let index = this.#flushes.length - 1; index >= 0; index--) {
      const flush = this.#flushes[index]!;
      if (flush.upTo >= oldest) continue;
      this.#flushes.splice(index, 1);
      flush.resolve();
    }
  }

  #hasRoom(): boolean {
    return this.#held + this.#waiting.length < this.#options.maxBufferedEvents;
  }

  /** The seq of the oldest unanswered item; Infinity when all are answered. */
  #oldestSeq(): number {
    for (const item of this.#outstanding) return item.seq;
    return Infinity;
  }

  #rejectReadyWaiters(): void {
    const waiters = this.#readyWaiters;
    this.#readyWaiters = [];
    for (const waiter of waiters) waiter.reject(closedError('ready()'));
  }
}

function invalidEvent(details: readonly EventProblem[]): ClientError {
  const problems = details.map((problem) => `${problem.path || '(the event)'} ${problem.message}`).join('; ');
  return new ClientError('invalid_event', `the server refused the event: ${problems}`, { status: 422, serverCode: 'invalid_event', details });
}

function closedError(call: string): ClientError {
  return new ClientError('closed', `${call} after close() or destroy()`);
}

/** The event's JSON text; ClientError `invalid_event` for what JSON cannot carry (a cycle, a BigInt). */
function serialize(event: AggregatorEvent): string {
  if (!isRecord(event)) throw new ClientError('invalid_event', 'an event must be an object {topic, event_id, timestamp, source, payload}');
  try {
    return JSON.stringify(event);
  } catch (error) {
    throw new ClientError('invalid_event', `the event cannot be sent as JSON: ${(error as Error).message}`, { cause: error });
  }
}
