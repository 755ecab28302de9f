import type { HttpResponse } from 'uWebSockets.js';
import { AggregatorError, toAggregatorError } from '../errors.js';

const statusLines: Readonly<Record<number, string>> = {
  200: '200 OK',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  413: '413 Payload Too Large',
  415: '415 Unsupported Media Type',
  422: '422 Unprocessable Entity',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

/** Per-response state uWS does not keep for us: whether the client went away. */
export interface ResponseState {
  aborted: boolean;
}

export interface ReplyOptions {
  readonly headers?: Readonly<Record<string, string>>;
  /** Close the connection after the answer (used when the client would not stop sending). */
  readonly close?: boolean;
}

/** Writes a JSON answer, corked so that status, headers and body leave in one syscall. */
export function replyJson(res: HttpResponse, state: ResponseState, status: number, body: string, options: ReplyOptions = {}): void {
  if (state.aborted) return;
  state.aborted = true; // a response may be written once
  res.cork(() => {
    res.writeStatus(statusLines[status] ?? `${status} Unknown`);
    res.writeHeader('Content-Type', 'application/json');
    if (options.headers) for (const [name, value] of Object.entries(options.headers)) res.writeHeader(name, value);
    res.end(body, options.close ?? false);
  });
}

/** Answers an error with its status and `{"error": {...}}`; overload answers carry Retry-After. */
export function replyError(res: HttpResponse, state: ResponseState, error: unknown, retryAfterSeconds: number, options: ReplyOptions = {}): void {
  const failure: AggregatorError = toAggregatorError(error);
  const headers = failure.status === 503 ? { ...options.headers, 'Retry-After': String(retryAfterSeconds) } : options.headers;
  replyJson(res, state, failure.status, JSON.stringify(failure), { ...options, ...(headers ? { headers } : {}) });
}
