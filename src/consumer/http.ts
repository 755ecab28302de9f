import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay, kRetryableStatuses, parseRetryAfter } from '../client/backoff.js';
import { describeNetworkError, serverError } from '../client/errors.js';
import { connectionPool, exchange, type ConnectionPool, type TlsOptions } from '../client/exchange.js';

export { isRecord } from '../client/errors.js';

/**
 * Why a consumer request finally failed, with a stable code a script can match on. Transient
 * trouble (network errors, 503 and the other statuses below) never surfaces here: it is retried.
 */
export type ConsumerErrorCode =
  /** network errors or retryable statuses until maxRetries ran out */
  | 'retries_exhausted'
  /** an answer that retrying cannot change: a 4xx other than 408/429, or a 500/501 */
  | 'refused'
  /** a 2xx whose body is not what the contract documents */
  | 'bad_reply'
  /** the request was cancelled (AbortSignal, or the consumer failed elsewhere) */
  | 'aborted';

export class ConsumerError extends Error {
  readonly code: ConsumerErrorCode;
  /** The HTTP status of a refusal; null otherwise. */
  readonly status: number | null;
  /** The server's `error.code` (`group_conflict`, `group_not_found`…) of a refusal, when it sent one. */
  readonly serverCode: string | null;

  constructor(code: ConsumerErrorCode, message: string, details: { readonly status?: number; readonly serverCode?: string | null } = {}) {
    super(message);
    this.name = 'ConsumerError';
    this.code = code;
    this.status = details.status ?? null;
    this.serverCode = details.serverCode ?? null;
  }
}

export interface RetryNotice {
  /** `POST /groups/g/fetch`… */
  readonly what: string;
  /** 0 = the first attempt failed. */
  readonly attempt: number;
  readonly delayMs: number;
  readonly reason: string;
}

export interface TransportOptions {
  /** Base URL, no trailing slash needed. */
  readonly url: string;
  readonly token?: string | undefined;
  /** Retries per call; Infinity keeps a long-running consumer alive across server restarts. */
  readonly maxRetries: number;
  /** An attempt without a complete answer for this long counts as a network error. */
  readonly timeoutMs: number;
  readonly onRetry?: ((notice: RetryNotice) => void) | undefined;
  /** For an https:// URL: the CA to trust, a client certificate (the client library's TlsOptions). */
  readonly tls?: TlsOptions | undefined;
}

export interface CallOptions {
  /** Cancels the attempt in flight and any retry wait: the call throws `aborted`. */
  readonly cancel?: AbortSignal;
  /** Ends a retry wait (the call throws `aborted`) but lets an attempt in flight finish. */
  readonly stopRetrying?: AbortSignal;
  /** Added to timeoutMs for this call: a long poll holds its answer back on purpose. */
  readonly extraTimeoutMs?: number;
}

export interface Reply {
  readonly status: number;
  /** The parsed JSON body; null for an empty one. */
  readonly body: unknown;
}

type Attempt = { readonly status: number; readonly retryAfter: string | undefined; readonly text: string } | { readonly networkError: unknown };

// Answers are JSON documents of at most a fetch's messages (each at most an event): 64 MiB is far past any.
const kMaxAnswerBytes = 64 * 1024 * 1024;

/**
 * JSON over the client library's keep-alive pool (node:http, or node:https with `tls`) and its retry policy (src/client/backoff.ts:
 * full-jitter backoff, Retry-After as a floor). Settling a message (ack, nak…) is idempotent on
 * the server, so re-sending after a lost answer is safe; a fetch whose answer is lost leaves its
 * messages pending until their ack wait runs out, which is the group's own recovery path.
 */
export class Transport {
  readonly #options: TransportOptions;
  readonly #pool: ConnectionPool;

  constructor(options: TransportOptions) {
    this.#options = { ...options, url: options.url.replace(/\/+$/, '') };
    // No cap on sockets: a long poll holds one while acks go out on others.
    this.#pool = connectionPool(this.#options.url, Infinity, options.tls);
  }

  /** Closes the idle keep-alive sockets, so the process can exit. */
  close(): void {
    this.#pool.agent.destroy();
  }

  async call(method: 'GET' | 'PUT' | 'POST', path: string, body?: unknown, options: CallOptions = {}): Promise<Reply> {
    const what = `${method} ${path.split('?', 1)[0]}`;
    for (let attempt = 0; ; attempt++) {
      if (options.cancel?.aborted) throw new ConsumerError('aborted', `${what} cancelled`);
      const outcome = await this.#attempt(method, path, body, options);
      let reason: string;
      let retryAfterMs: number | null = null;
      if ('networkError' in outcome) {
        if (options.cancel?.aborted) throw new ConsumerError('aborted', `${what} cancelled`);
        reason = describeNetworkError(outcome.networkError);
      } else if (outcome.status >= 200 && outcome.status < 300) {
        return { status: outcome.status, body: parseBody(what, outcome) };
      } else if (kRetryableStatuses.has(outcome.status)) {
        reason = `${outcome.status} ${describeAnswer(outcome.text)}`;
        retryAfterMs = parseRetryAfter(outcome.retryAfter);
      } else {
        const { code, text } = serverError(outcome.text);
        throw new ConsumerError('refused', `${what} answered ${outcome.status} ${text} (not retried)`, { status: outcome.status, serverCode: code });
      }
      if (attempt >= this.#options.maxRetries) {
        throw new ConsumerError('retries_exhausted', `${what} failed after ${attempt + 1} attempt(s); last: ${reason}`);
      }
      const delayMs = backoffDelay(attempt, retryAfterMs);
      this.#options.onRetry?.({ what, attempt, delayMs, reason });
      const waiting = anySignal([options.cancel, options.stopRetrying]);
      try {
        await sleep(delayMs, undefined, { signal: waiting.signal });
      } catch {
        throw new ConsumerError('aborted', `${what} stopped while waiting to retry (${reason})`);
      } finally {
        waiting.dispose();
      }
    }
  }

  async #attempt(method: string, path: string, body: unknown, options: CallOptions): Promise<Attempt> {
    const timeoutMs = this.#options.timeoutMs + (options.extraTimeoutMs ?? 0);
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    const signal = anySignal([timeout.signal, options.cancel]);
    const headers: Record<string, string | number> = { accept: 'application/json' };
    const bytes = body === undefined ? null : Buffer.from(JSON.stringify(body));
    if (bytes !== null) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = bytes.length;
    }
    if (this.#options.token) headers.authorization = `Bearer ${this.#options.token}`;
    try {
      // The whole answer is under the same timeout: a server that sends headers then stalls is a network error too.
      const outcome = await exchange(this.#pool, { method, url: `${this.#options.url}${path}`, headers, body: bytes, timeoutMs, signal: signal.signal, maxAnswerBytes: kMaxAnswerBytes });
      if ('networkError' in outcome) return { networkError: timeout.signal.aborted ? timeout.signal.reason : outcome.networkError };
      return outcome;
    } finally {
      clearTimeout(timer);
      signal.dispose();
    }
  }
}

/**
 * One signal that fires when any of `signals` does (AbortSignal.any needs Node 20.3; the engine
 * range starts at 20.0). `dispose` removes the listeners, so long-lived signals do not collect them.
 */
function anySignal(signals: readonly (AbortSignal | undefined)[]): { readonly signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const present = signals.filter((signal): signal is AbortSignal => signal !== undefined);
  const onAbort = (): void => controller.abort();
  for (const signal of present) {
    if (signal.aborted) controller.abort();
    else signal.addEventListener('abort', onAbort, { once: true });
  }
  return { signal: controller.signal, dispose: () => present.forEach((signal) => signal.removeEventListener('abort', onAbort)) };
}

function parseBody(what: string, outcome: { readonly status: number; readonly text: string }): unknown {
  if (outcome.text.trim() === '') return null;
  try {
    return JSON.parse(outcome.text) as unknown;
  } catch {
    throw new ConsumerError('bad_reply', `${what} answered ${outcome.status} with a body that is not JSON: ${outcome.text.slice(0, 200)}`);
  }
}

function describeAnswer(text: string): string {
  return serverError(text).text;
}
