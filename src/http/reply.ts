import type { HttpResponse } from 'uWebSockets.js';
import { toAggregatorError } from '../errors.js';

const statusLines: Readonly<Record<number, string>> = {
  200: '200 OK',
  204: '204 No Content',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  413: '413 Payload Too Large',
  415: '415 Unsupported Media Type',
  422: '422 Unprocessable Entity',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

export interface ReplyOptions {
  readonly headers?: Readonly<Record<string, string>>;
  readonly contentType?: string;
  /** Close the connection after the answer (used when the client would not stop sending). */
  readonly close?: boolean;
}

export interface ReplySettings {
  readonly retryAfterSeconds: number;
  readonly onAnswer?: (route: string, status: number, seconds: number) => void;
}

/**
 * One request's answer. uWS gives no such object: it forgets a response once aborted, and a late
 * answer must be corked. `Reply` remembers the abort, writes at most once, and reports each
 * answer (route, status, latency) for the metrics.
 */
export class Reply {
  readonly route: string;
  readonly #res: HttpResponse;
  readonly #settings: ReplySettings;
  readonly #started = performance.now();
  #done = false;
  #abortListener: (() => void) | null = null;

  readonly #routeHeaders: Readonly<Record<string, string>> | undefined;

  constructor(res: HttpResponse, route: string, settings: ReplySettings, routeHeaders?: Readonly<Record<string, string>>) {
    this.#res = res;
    this.#routeHeaders = routeHeaders;
    this.route = route;
    this.#settings = settings;
    // uWS keeps one abort handler per response, so this is it; others subscribe through `onAbort`.
    res.onAborted(() => {
      this.#done = true;
      this.#abortListener?.();
    });
  }

  /** Runs when the client goes away before the answer. */
  onAbort(listener: () => void): void {
    this.#abortListener = listener;
  }

  /** True once answered or aborted: nothing more may be written. */
  get done(): boolean {
    return this.#done;
  }

  send(status: number, body: string | Uint8Array, options: ReplyOptions = {}): void {
    if (this.#done) return;
    this.#done = true;
    this.#res.cork(() => {
      this.#res.writeStatus(statusLines[status] ?? `${status} Unknown`);
      if (status !== 204) this.#res.writeHeader('Content-Type', options.contentType ?? 'application/json');
      if (this.#routeHeaders) for (const [name, value] of Object.entries(this.#routeHeaders)) this.#res.writeHeader(name, value);
      if (options.headers) for (const [name, value] of Object.entries(options.headers)) this.#res.writeHeader(name, value);
      this.#res.end(body, options.close ?? false);
    });
    this.#settings.onAnswer?.(this.route, status, (performance.now() - this.#started) / 1000);
  }

  /** The request became a WebSocket: nothing is written here, but it is an answer (101) all the same. */
  upgraded(): void {
    if (this.#done) return;
    this.#done = true;
    this.#settings.onAnswer?.(this.route, 101, (performance.now() - this.#started) / 1000);
  }

  /** Answers an error with its status and `{"error": {...}}`; 503s carry Retry-After. */
  error(error: unknown, options: ReplyOptions = {}): void {
    const failure = toAggregatorError(error);
    const headers: Record<string, string> = { ...options.headers, ...failure.headers };
    if (failure.status === 503) headers['Retry-After'] = String(this.#settings.retryAfterSeconds);
    this.send(failure.status, JSON.stringify(failure), { ...options, headers });
  }
}
