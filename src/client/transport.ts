import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { constants as zlibConstants, gzip as gzipCallback } from 'node:zlib';
import { backoffDelay, kRetryableStatuses, parseRetryAfter } from './backoff.js';
import { ClientError, describeNetworkError, serverError } from './errors.js';
import { connectionPool, exchange, type ConnectionPool, type Outcome, type TlsOptions } from './exchange.js';

export type { TlsOptions } from './exchange.js';

const gzip = promisify(gzipCallback);

export interface TransportOptions {
  /** Base URL, http: or https:, no trailing slash, no query. */
  readonly url: string;
  /** Keep-alive sockets: one request in flight on each. */
  readonly concurrency: number;
  readonly maxRetries: number;
  /** A request without an answer for this long counts as a network error. */
  readonly timeoutMs: number;
  /** Sent with every request (authorization…). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly tls?: TlsOptions;
  /** Bodies of at least this many bytes go gzip-compressed; null: never. */
  readonly gzipMinBytes?: number | null;
  /** Answers are small JSON documents: past this size only a prefix is kept (default 1 MiB). */
  readonly maxAnswerBytes?: number;
  /** Aborting cancels every request in flight and every retry wait: they throw `aborted`. */
  readonly signal?: AbortSignal;
}

export interface RequestBody {
  readonly bytes: Buffer;
  readonly contentType: string;
}

/** The final answer to a request: a status retrying cannot change (2xx, or a refusal for the caller to read). */
export interface Answer {
  readonly status: number;
  readonly text: string;
  /** Round trip of the attempt that got this answer, ms. */
  readonly latencyMs: number;
}

export interface RetryNotice {
  /** `POST /publish`… */
  readonly what: string;
  /** 0 = the first attempt failed. */
  readonly attempt: number;
  readonly delayMs: number;
  readonly reason: string;
  /** The failed attempt may have been committed anyway (a network error after sending, or a 5xx). */
  readonly possiblyStored: boolean;
}

const kDefaultMaxAnswerBytes = 1024 * 1024;
// Level 1: JSON events shrink several-fold already, and the client must not become the bottleneck
// (level 6 costs about three times the CPU for a few percent more).
const kGzipLevel = zlibConstants.Z_BEST_SPEED;

/**
 * At-least-once HTTP for the aggregator: a keep-alive pool of `concurrency` sockets (node:http, or
 * node:https with the TLS options for an https:// URL), and a retry loop for what is safe and
 * worth retrying (network errors and the statuses of kRetryableStatuses), with full-jitter backoff
 * and Retry-After as a floor. Re-sending is always safe here: the server dedups, and a request
 * that did commit before its answer was lost comes back as duplicates.
 */
export class Transport {
  readonly #options: TransportOptions;
  readonly #pool: ConnectionPool;
  // The transport's own signal, following the caller's: every in-flight request and retry wait
  // listens to it (one listener each, legitimately more than EventTarget's warning threshold of 10).
  readonly #abort = new AbortController();
  readonly #forwardAbort = (): void => this.#abort.abort();

  constructor(options: TransportOptions) {
    this.#options = options;
    this.#pool = connectionPool(options.url, options.concurrency, options.tls);
    setMaxListeners(0, this.#abort.signal);
    if (options.signal?.aborted) this.#abort.abort();
    else options.signal?.addEventListener('abort', this.#forwardAbort, { once: true });
  }

  /**
   * Sends until an answer that retrying cannot change, and returns it whatever its status: the
   * caller knows what a 4xx means for its request. Throws ClientError `retries_exhausted` or `aborted`.
   */
  async send(method: 'GET' | 'POST', path: string, body: RequestBody | null, onRetry?: (notice: RetryNotice) => void): Promise<Answer> {
    const what = `${method} ${path.split('?', 1)[0]}`;
    // Compressed once: every retry re-sends the same bytes.
    const wire = body ? await this.#encode(body) : null;
    for (let attempt = 0; ; attempt++) {
      if (this.#abort.signal.aborted) throw new ClientError('aborted', `${what} cancelled`);
      const outcome = await this.#attempt(method, path, wire);
      let reason: string;
      let retryAfterMs: number | null = null;
      let possiblyStored: boolean;
      if ('networkError' in outcome) {
        if (this.#abort.signal.aborted) throw new ClientError('aborted', `${what} interrupted`);
        reason = describeNetworkError(outcome.networkError);
        // A refused connection never reached the server; anything later may have been committed.
        possiblyStored = (outcome.networkError as NodeJS.ErrnoException).code !== 'ECONNREFUSED';
      } else if (kRetryableStatuses.has(outcome.status)) {
        reason = `${outcome.status} ${serverError(outcome.text).text}`;
        retryAfterMs = parseRetryAfter(outcome.retryAfter);
        // Full rings store nothing, but a shard that failed to commit may leave other shards' events stored.
        possiblyStored = true;
      } else {
        return { status: outcome.status, text: outcome.text, latencyMs: outcome.latencyMs };
      }
      if (attempt >= this.#options.maxRetries) {
        throw new ClientError('retries_exhausted', `${what} failed after ${attempt + 1} attempt(s); last: ${reason}`);
      }
      const delayMs = backoffDelay(attempt, retryAfterMs);
      onRetry?.({ what, attempt, delayMs, reason, possiblyStored });
      try {
        await sleep(delayMs, undefined, { signal: this.#abort.signal });
      } catch {
        throw new ClientError('aborted', `${what} interrupted while waiting to retry (${reason})`);
      }
    }
  }

  /** Closes the pooled sockets so the process can exit; requests still in flight are cut. */
  close(): void {
    this.#options.signal?.removeEventListener('abort', this.#forwardAbort);
    this.#pool.agent.destroy();
  }

  /** Cancels everything in flight and waiting (they throw `aborted`), then closes. */
  destroy(): void {
    this.#abort.abort();
    this.close();
  }

  async #encode(body: RequestBody): Promise<{ readonly bytes: Buffer; readonly headers: Record<string, string | number> }> {
    const headers: Record<string, string | number> = { 'content-type': body.contentType };
    const threshold = this.#options.gzipMinBytes ?? null;
    let bytes = body.bytes;
    if (threshold !== null && bytes.length >= threshold) {
      bytes = await gzip(bytes, { level: kGzipLevel });
      headers['content-encoding'] = 'gzip';
    }
    headers['content-length'] = bytes.length;
    return { bytes, headers };
  }

  #attempt(method: string, path: string, wire: { readonly bytes: Buffer; readonly headers: Record<string, string | number> } | null): Promise<Outcome> {
    return exchange(this.#pool, {
      method,
      url: `${this.#options.url}${path}`,
      headers: { ...this.#options.headers, accept: 'application/json', ...wire?.headers },
      body: wire?.bytes ?? null,
      timeoutMs: this.#options.timeoutMs,
      signal: this.#abort.signal,
      maxAnswerBytes: this.#options.maxAnswerBytes ?? kDefaultMaxAnswerBytes,
    });
  }
}
