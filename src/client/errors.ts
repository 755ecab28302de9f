/**
 * Why a publish finally failed, with a stable `code` to match on (never the message, which is for
 * people). Transient trouble (network errors, 503 and the other retryable statuses) never surfaces
 * here until the retries ran out.
 */
export type ClientErrorCode =
  /** the server refused this event (422 `invalid_event`): `details` says why; the other events of its batch were sent without it */
  | 'invalid_event'
  /** an answer for the whole request that retrying cannot change: 400, 401, 403, 413 for a lone event, a 5xx other than 502-504 (`status`, `serverCode`) */
  | 'refused'
  /** network errors or retryable statuses until `maxRetries` ran out */
  | 'retries_exhausted'
  /** a 2xx whose body is not what docs/API.md documents, or disagrees with the request */
  | 'bad_reply'
  /** publish() after close() or destroy() */
  | 'closed'
  /** destroy() was called (or the transport's signal fired) before this was answered */
  | 'aborted';

/** One problem the server found in an event (`error.details[]` of a 422, without the request index). */
export interface EventProblem {
  /** JSON pointer into the event (`/timestamp`), '' for the whole event. */
  readonly path: string;
  readonly message: string;
}

export interface ClientErrorDetails {
  readonly status?: number | null;
  readonly serverCode?: string | null;
  readonly details?: readonly EventProblem[];
  readonly cause?: unknown;
}

export class ClientError extends Error {
  readonly code: ClientErrorCode;
  /** The HTTP status of a refusal (422, 413, 401…); null when no answer decided it. */
  readonly status: number | null;
  /** The server's `error.code` (`invalid_event`, `too_large`, `unauthorized`…), when it sent one. */
  readonly serverCode: string | null;
  /** For `invalid_event`: what is wrong with this event; empty otherwise. */
  readonly details: readonly EventProblem[];

  constructor(code: ClientErrorCode, message: string, extra: ClientErrorDetails = {}) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = 'ClientError';
    this.code = code;
    this.status = extra.status ?? null;
    this.serverCode = extra.serverCode ?? null;
    this.details = Object.freeze([...(extra.details ?? [])]);
  }
}

/** A network error with its code in front (ECONNREFUSED…), when it has one: the code is what a script matches. */
export function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  return code ? `${code}: ${error.message}` : error.message;
}

/** The aggregator's `{"error": {"code", "message"}}` as its code and a line of text; the body's start otherwise. */
export function serverError(text: string): { readonly code: string | null; readonly text: string } {
  // Not JSON (a proxy's HTML page, say): then the raw start is the best description.
  const parsed = parseJson(text);
  const error = isRecord(parsed) && isRecord(parsed.error) ? parsed.error : null;
  if (error && typeof error.code === 'string') return { code: error.code, text: `${error.code}: ${String(error.message ?? '')}` };
  return { code: null, text: text.slice(0, 200) || '(empty body)' };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value of a JSON text; null when it is not JSON (answers are checked field by field afterwards). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
