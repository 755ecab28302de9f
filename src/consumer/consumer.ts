import { Batcher } from './batcher.js';
import type { TlsOptions } from '../client/exchange.js';
import { ConsumerError, Transport, type RetryNotice } from './http.js';
import { ackStatus, groupBody, parseFetchReply, parseGroupInfo, parseSettleReply, type AckStatus, type GroupConfig, type GroupInfo, type Message, type SettleResult } from './wire.js';

export { ConsumerError, type ConsumerErrorCode, type RetryNotice } from './http.js';
export type { AckStatus, GroupConfig, GroupInfo, GroupStart, Message, SettleResult, StoredEvent } from './wire.js';

export type MessageHandler = (message: Message) => Promise<void>;

export interface ConsumerOptions {
  /** The aggregator's base URL. */
  readonly url: string;
  readonly group: string;
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** Resolves: the message is acked. Throws: it is naked, and the server redelivers it. */
  readonly handler: MessageHandler;
  /** Handlers running at once (default 16); a fetch never asks for more than the free slots. */
  readonly concurrency?: number;
  /** Most messages one fetch asks for (default 100). */
  readonly maxBatch?: number;
  /** How long the server may hold a fetch open waiting for messages, ms (default 5000). */
  readonly waitMs?: number;
  /** Redelivery delay after a handler throws, ms; unset: the group's backoff_ms decides. */
  readonly nakDelayMs?: number;
  /** PUT this group before consuming: created or identical is fine, a conflict rejects run(). */
  readonly create?: GroupConfig;
  /** Aborting stops like stop(), but also cancels the fetch in flight rather than letting it return. */
  readonly signal?: AbortSignal;
  /** How long an ack waits for company before its batch is sent, ms (default 5). */
  readonly ackLingerMs?: number;
  /** Retries per request on a network error or a retryable status (default Infinity). */
  readonly maxRetries?: number;
  /** A request without an answer for this long (on top of waitMs for a fetch) is a network error, ms (default 30000). */
  readonly timeoutMs?: number;
  /** Each ack's answer, once the server made it durable. */
  readonly onAck?: (message: Message, status: AckStatus) => void;
  readonly onRetry?: (notice: RetryNotice) => void;
  readonly onHandlerError?: (error: unknown, message: Message) => void;
  /** For an https:// URL: the CA to trust and a client certificate, as the publishing Client takes them. */
  readonly tls?: TlsOptions;
}

export interface ConsumerCounters {
  /** Messages fetched, redeliveries included. */
  readonly fetched: number;
  /** Fetched messages with delivery_count > 1. */
  readonly redelivered: number;
  /** Handler calls that resolved. */
  readonly processed: number;
  /** Handler calls that threw. */
  readonly failures: number;
  /** Ack answers per status. */
  readonly acked: number;
  readonly alreadyAcked: number;
  readonly unknownAcks: number;
  /** Ids naked and answered (handler failures and released ones). */
  readonly naked: number;
  /** Messages that arrived after stop() and were handed straight back (nak, no delay) unprocessed. */
  readonly released: number;
}

type MutableCounters = { -readonly [K in keyof ConsumerCounters]: ConsumerCounters[K] };

const kMaxAckIds = 100;

/**
 * A consumer-group member in fetch mode: it long-polls `POST /groups/{g}/fetch` for at most as many
 * messages as it has free handler slots, runs the handler on each, acks (batched) what resolved and
 * naks what threw. Delivery is at least once: a message whose ack is lost comes back after the
 * group's ack wait, and its ack then answers `already_acked` if the first one did land.
 */
export class Consumer {
  readonly #options: ConsumerOptions;
  readonly #transport: Transport;
  readonly #path: string;
  readonly #concurrency: number;
  readonly #maxBatch: number;
  readonly #waitMs: number;
  readonly #counters: MutableCounters = { fetched: 0, redelivered: 0, processed: 0, failures: 0, acked: 0, alreadyAcked: 0, unknownAcks: 0, naked: 0, released: 0 };
  /** Handlers running, by message id; a redelivery of one of them is not started twice. */
  readonly #inFlight = new Map<string, Promise<void>>();
  /** Messages whose ack is queued or in flight, for onAck. */
  readonly #awaitingAck = new Map<string, Message>();
  readonly #acks: Batcher;
  readonly #naks: Batcher;
  readonly #releases: Batcher;
  /** Fires when stopping starts, for any reason: no new fetch, no more retry waits for one. */
  readonly #stopping = new AbortController();
  /** Fires on abort or failure: also cuts the fetch in flight. */
  readonly #cancel = new AbortController();
  #wake: (() => void) | null = null;
  #failure: unknown = null;
  #settled: Promise<void> | null = null;

  constructor(options: ConsumerOptions) {
    this.#options = options;
    this.#concurrency = positiveInteger('concurrency', options.concurrency ?? 16);
    this.#maxBatch = positiveInteger('maxBatch', options.maxBatch ?? 100);
    this.#waitMs = options.waitMs ?? 5000;
    if (!(this.#waitMs >= 0)) throw new RangeError(`waitMs must be >= 0, got ${this.#waitMs}`);
    if (!/^https?:\/\//.test(options.url)) throw new TypeError(`url must be an http(s) URL, got ${JSON.stringify(options.url)}`);
    if (options.group === '') throw new TypeError('group must not be empty');
    this.#transport = new Transport({ url: options.url, token: options.token, maxRetries: options.maxRetries ?? Infinity, timeoutMs: options.timeoutMs ?? 30_000, onRetry: options.onRetry, tls: options.tls });
    this.#path = `/groups/${encodeURIComponent(options.group)}`;
    const linger = options.ackLingerMs ?? 5;
    const onError = (error: unknown): void => this.#fail(error);
    this.#acks = new Batcher({ maxIds: kMaxAckIds, lingerMs: linger, onError, send: (ids) => this.#sendAcks(ids) });
    // Without nakDelayMs no delay_ms is sent, so the group's backoff_ms decides when it comes back.
    const nakDelay: Record<string, number> = options.nakDelayMs === undefined ? {} : { delay_ms: options.nakDelayMs };
    this.#naks = new Batcher({ maxIds: kMaxAckIds, lingerMs: linger, onError, send: (ids) => this.#sendNaks(ids, nakDelay) });
    // Released messages were never looked at: the next consumer may have them at once.
    this.#releases = new Batcher({ maxIds: kMaxAckIds, lingerMs: linger, onError, send: (ids) => this.#sendNaks(ids, { delay_ms: 0 }) });
  }

  get counters(): ConsumerCounters {
    return { ...this.#counters };
  }

  /** Handlers running now. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /**
   * Creates the group if asked, then consumes until stop() or the signal, and resolves once every
   * handler finished and every ack and nak was answered. Rejects with the first fatal error (a
   * refused request, a bad reply, retries exhausted), after draining the same way.
   */
  run(): Promise<void> {
    if (this.#settled) return Promise.reject(new Error('Consumer.run() may be called only once'));
    this.#settled = this.#run();
    return this.#settled;
  }

  /**
   * Stops fetching, lets the fetch in flight return (at most waitMs; what it brings is released),
   * waits for the running handlers and flushes acks and naks. Resolves when run() settled, whether
   * it resolved or rejected (run() reports the error).
   */
  async stop(): Promise<void> {
    this.#requestStop();
    await this.#settled?.catch(() => undefined);
  }

  /** GET /groups/{name}: the group's definition and state. */
  async info(): Promise<GroupInfo> {
    const { body } = await this.#transport.call('GET', this.#path);
    return parseGroupInfo(`GET ${this.#path}`, body);
  }

  /** Restarts the ack wait of messages a handler is still working on. */
  async extend(ids: readonly string[]): Promise<SettleResult[]> {
    return this.#settle('extend', { ids: [...ids] });
  }

  /** Dead-letters messages now, whatever max_deliver says (a poison message a retry cannot fix). */
  async term(ids: readonly string[], reason: string): Promise<SettleResult[]> {
    return this.#settle('term', { ids: [...ids], reason });
  }

  async #run(): Promise<void> {
    const { signal } = this.#options;
    const onAbort = (): void => {
      this.#cancel.abort();
      this.#requestStop();
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (this.#options.create && !this.#stopping.signal.aborted) {
        await this.#transport.call('PUT', this.#path, groupBody(this.#options.create), { cancel: this.#cancel.signal, stopRetrying: this.#stopping.signal });
      }
      await this.#pollLoop();
    } catch (error) {
      // A request cut short because we are stopping anyway is how a stop looks, not a failure.
      if (!(isAborted(error) && this.#stopping.signal.aborted)) this.#fail(error);
    }
    this.#requestStop();
    // Handlers first: each one that finishes queues an ack or a nak, which the flushes then send.
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight.values());
    await Promise.all([this.#acks.flush(), this.#naks.flush(), this.#releases.flush()]);
    signal?.removeEventListener('abort', onAbort);
    // Idle keep-alive sockets go now; info() and the like still work after (they open new ones).
    this.#transport.close();
    if (this.#failure !== null) throw this.#failure;
  }

  async #pollLoop(): Promise<void> {
    while (!this.#stopping.signal.aborted) {
      const free = this.#concurrency - this.#inFlight.size;
      if (free <= 0) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        continue;
      }
      const messages = await this.#fetch(Math.min(this.#maxBatch, free));
      for (const message of messages) this.#dispatch(message);
    }
  }

  async #fetch(max: number): Promise<Message[]> {
    const what = `POST ${this.#path}/fetch`;
    try {
      const { body } = await this.#transport.call(
        'POST',
        `${this.#path}/fetch`,
        { max, wait_ms: this.#waitMs },
        { cancel: this.#cancel.signal, stopRetrying: this.#stopping.signal, extraTimeoutMs: this.#waitMs },
      );
      return parseFetchReply(what, body);
    } catch (error) {
      // Cancelled because we are stopping: not a failure, just nothing fetched.
      if (isAborted(error) && this.#stopping.signal.aborted) return [];
      throw error;
    }
  }

  #dispatch(message: Message): void {
    this.#counters.fetched++;
    if (message.deliveryCount > 1) this.#counters.redelivered++;
    if (this.#stopping.signal.aborted) {
      this.#counters.released++;
      this.#releases.add(message.id);
      return;
    }
    // Redelivered while its first delivery is still being handled (its ack wait ran out): the
    // running handler's ack or nak settles it, a second concurrent run would only duplicate work.
    if (this.#inFlight.has(message.id)) return;
    const task = this.#handle(message).finally(() => {
      this.#inFlight.delete(message.id);
      this.#poke();
    });
    this.#inFlight.set(message.id, task);
  }

  /** Never rejects: a handler's error becomes a nak, a hook's error a failure of the consumer. */
  async #handle(message: Message): Promise<void> {
    try {
      await this.#options.handler(message);
    } catch (error) {
      this.#counters.failures++;
      this.#naks.add(message.id);
      this.#hook(() => this.#options.onHandlerError?.(error, message));
      return;
    }
    this.#counters.processed++;
    this.#awaitingAck.set(message.id, message);
    this.#acks.add(message.id);
  }

  async #sendAcks(ids: string[]): Promise<void> {
    const results = await this.#settle('ack', { ids });
    for (const result of results) {
      const status = ackStatus(result.status);
      if (status === 'acked') this.#counters.acked++;
      else if (status === 'already_acked') this.#counters.alreadyAcked++;
      else this.#counters.unknownAcks++;
      const message = this.#awaitingAck.get(result.id);
      if (message) this.#hook(() => this.#options.onAck?.(message, status));
    }
    for (const id of ids) this.#awaitingAck.delete(id);
  }

  async #sendNaks(ids: string[], extra: Readonly<Record<string, number>>): Promise<void> {
    await this.#settle('nak', { ids, ...extra });
    this.#counters.naked += ids.length;
  }

  /** Settling is idempotent on the server, so it is retried, and not cancelled by an abort: an ack sent is work not redone. */
  async #settle(verb: 'ack' | 'nak' | 'term' | 'extend', body: Record<string, unknown>): Promise<SettleResult[]> {
    const { body: reply } = await this.#transport.call('POST', `${this.#path}/${verb}`, body);
    return parseSettleReply(`POST ${this.#path}/${verb}`, reply);
  }

  #hook(call: () => void): void {
    try {
      call();
    } catch (error) {
      this.#fail(error);
    }
  }

  /** The first fatal error wins; the consumer then stops at once (the fetch in flight is cut too). */
  #fail(error: unknown): void {
    this.#failure ??= error;
    this.#cancel.abort();
    this.#requestStop();
  }

  #requestStop(): void {
    if (!this.#stopping.signal.aborted) this.#stopping.abort();
    this.#poke();
  }

  #poke(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}

function isAborted(error: unknown): boolean {
  return error instanceof ConsumerError && error.code === 'aborted';
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be an integer >= 1, got ${value}`);
  return value;
}
