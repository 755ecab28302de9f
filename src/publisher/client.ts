import { setMaxListeners } from 'node:events';
import { Agent, request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EncodedBody } from './encode.js';
import { describeNetworkError, PublisherError } from './errors.js';

export const kBackoffBaseMs = 50;
export const kBackoffCapMs = 5000;
// Answers are small JSON documents; anything bigger is not from the aggregator, so keep only a prefix.
const kMaxAnswerBytes = 1024 * 1024;

/**
 * How long to wait before retry number `attempt + 1` (attempt 0 = the first send failed).
 * Full jitter: uniform in [0, min(cap, base * 2^attempt)), so clients refused together spread out.
 * A Retry-After from the server is a floor, not a replacement: the jitter is added on top of it,
 * otherwise every client told "1" would come back in the same millisecond and be refused again.
 */
export function backoffDelay(attempt: number, retryAfterMs: number | null, random: () => number = Math.random): number {
  const ceiling = Math.min(kBackoffCapMs, kBackoffBaseMs * 2 ** Math.min(attempt, 30));
  return (retryAfterMs ?? 0) + Math.floor(random() * ceiling);
}

/** Retry-After in delta-seconds (what the aggregator sends) or as an HTTP date; null if absent or unreadable. */
export function parseRetryAfter(header: string | undefined, now: number = Date.now()): number | null {
  if (header === undefined) return null;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

export interface ClientOptions {
  readonly url: string;
  readonly concurrency: number;
  readonly maxRetries: number;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface RetryNotice {
  readonly attempt: number;
  readonly delayMs: number;
  readonly reason: string;
  /** The failed attempt may have been committed anyway (a network error after sending, or a 503). */
  readonly possiblyStored: boolean;
}

export interface Acknowledgement {
  readonly accepted: number;
  readonly unique: number;
  readonly duplicates: number;
  /** Round trip of the attempt that got the 200, ms. */
  readonly latencyMs: number;
}

export interface StatsCounters {
  readonly received: number;
  readonly unique_processed: number;
  readonly duplicate_dropped: number;
}

interface Answer {
  readonly status: number;
  readonly retryAfterMs: number | null;
  readonly text: string;
}

type Outcome = { readonly answer: Answer; readonly latencyMs: number } | { readonly networkError: unknown };

/**
 * At-least-once HTTP client for the aggregator: a keep-alive pool of `concurrency` sockets, and a
 * retry loop for what is safe and worth retrying (network errors, 503). Re-sending is always safe
 * here: the server dedups, and a request that did commit before its answer was lost comes back as
 * duplicates.
 */
export class AggregatorClient {
  readonly #options: ClientOptions;
  readonly #agent: Agent;
  // The client's own signal, following the caller's: every in-flight request and retry wait listens
  // to it (one listener each, legitimately more than EventTarget's default warning threshold of 10).
  readonly #abort = new AbortController();
  readonly #forwardAbort = (): void => this.#abort.abort();

  constructor(options: ClientOptions) {
    this.#options = options;
    this.#agent = new Agent({ keepAlive: true, maxSockets: options.concurrency, maxFreeSockets: options.concurrency });
    setMaxListeners(0, this.#abort.signal);
    if (options.signal?.aborted) this.#abort.abort();
    else options.signal?.addEventListener('abort', this.#forwardAbort, { once: true });
  }

  /** POST /publish until a 200 or a final failure (thrown as PublisherError). */
  async publish(body: EncodedBody, onRetry?: (notice: RetryNotice) => void): Promise<Acknowledgement> {
    const outcome = await this.#withRetries('POST', '/publish', body, onRetry);
    return { ...parseAcknowledgement(outcome.answer.text, body.eventCount), latencyMs: outcome.latencyMs };
  }

  /** GET /stats (retried like a publish: reading is idempotent). */
  async stats(): Promise<StatsCounters> {
    const { answer } = await this.#withRetries('GET', '/stats', null);
    const parsed = parseJson(answer.text) as Partial<Record<keyof StatsCounters, unknown>> | null;
    const counters = { received: parsed?.received, unique_processed: parsed?.unique_processed, duplicate_dropped: parsed?.duplicate_dropped };
    if (!Object.values(counters).every((value) => Number.isInteger(value))) {
      throw new PublisherError('bad_reply', `GET /stats answered without integer counters: ${answer.text.slice(0, 200)}`);
    }
    return counters as StatsCounters;
  }

  /** Closes the pooled sockets so the process can exit. */
  close(): void {
    this.#options.signal?.removeEventListener('abort', this.#forwardAbort);
    this.#agent.destroy();
  }

  async #withRetries(
    method: 'GET' | 'POST',
    path: string,
    body: EncodedBody | null,
    onRetry?: (notice: RetryNotice) => void,
  ): Promise<{ readonly answer: Answer; readonly latencyMs: number }> {
    const what = `${method} ${path}`;
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.#attempt(method, path, body);
      let reason: string;
      let retryAfterMs: number | null = null;
      let possiblyStored: boolean;
      if ('networkError' in outcome) {
        if (this.#abort.signal.aborted) throw new PublisherError('aborted', `${what} interrupted`);
        reason = describeNetworkError(outcome.networkError);
        // A refused connection never reached the server; anything later may have been committed.
        possiblyStored = (outcome.networkError as NodeJS.ErrnoException).code !== 'ECONNREFUSED';
      } else if (outcome.answer.status === 503) {
        reason = `503 ${describeAnswer(outcome.answer)}`;
        retryAfterMs = outcome.answer.retryAfterMs;
        // Full rings store nothing, but a shard that failed to commit may leave other shards' events stored.
        possiblyStored = true;
      } else if (outcome.answer.status === 200) {
        return outcome;
      } else {
        throw new PublisherError('refused', `${what} answered ${outcome.answer.status} ${describeAnswer(outcome.answer)} (not retried)`);
      }
      if (attempt >= this.#options.maxRetries) {
        throw new PublisherError('retries_exhausted', `${what} failed after ${attempt + 1} attempt(s); last: ${reason}`);
      }
      const delayMs = backoffDelay(attempt, retryAfterMs);
      onRetry?.({ attempt, delayMs, reason, possiblyStored });
      try {
        await sleep(delayMs, undefined, { signal: this.#abort.signal });
      } catch {
        throw new PublisherError('aborted', `${what} interrupted while waiting to retry (${reason})`);
      }
    }
  }

  #attempt(method: string, path: string, body: EncodedBody | null): Promise<Outcome> {
    const started = performance.now();
    return new Promise((resolve) => {
      const headers: Record<string, string | number> = { accept: 'application/json' };
      if (body) {
        headers['content-type'] = body.contentType;
        headers['content-length'] = body.bytes.length;
      }
      const fail = (networkError: unknown): void => resolve({ networkError });
      const request = httpRequest(
        `${this.#options.url}${path}`,
        { method, agent: this.#agent, headers, timeout: this.#options.timeoutMs, signal: this.#abort.signal },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size <= kMaxAnswerBytes) chunks.push(chunk);
          });
          response.on('error', fail);
          response.on('close', () => {
            if (!response.complete) fail(new Error('connection closed before the answer was complete'));
          });
          response.on('end', () => {
            const retryAfter = response.headers['retry-after'];
            resolve({
              answer: { status: response.statusCode ?? 0, retryAfterMs: parseRetryAfter(retryAfter), text: Buffer.concat(chunks).toString('utf8') },
              latencyMs: performance.now() - started,
            });
          });
        },
      );
      request.on('timeout', () => request.destroy(new Error(`no answer within ${this.#options.timeoutMs} ms`)));
      request.on('error', fail);
      request.end(body?.bytes);
    });
  }
}

function parseAcknowledgement(text: string, eventCount: number): Omit<Acknowledgement, 'latencyMs'> {
  const reply = parseJson(text) as { accepted?: unknown; unique?: unknown; duplicates?: unknown } | null;
  const { accepted, unique, duplicates } = reply ?? {};
  if (
    typeof accepted !== 'number' || typeof unique !== 'number' || typeof duplicates !== 'number' ||
    accepted !== eventCount || unique + duplicates !== accepted || unique < 0 || duplicates < 0
  ) {
    throw new PublisherError('bad_reply', `POST /publish of ${eventCount} event(s) answered 200 with ${text.slice(0, 200)}`);
  }
  return { accepted, unique, duplicates };
}

/** `code: message` from the aggregator's `{"error": {...}}`, else the start of the body. */
function describeAnswer(answer: Answer): string {
  const parsed = parseJson(answer.text) as { error?: { code?: unknown; message?: unknown } } | null;
  const error = parsed?.error;
  if (error && typeof error.code === 'string') return `${error.code}: ${String(error.message ?? '')}`;
  return answer.text.slice(0, 200) || '(empty body)';
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
