/**
 * Every error the service raises: a stable code from the catalogue below, which alone decides its
 * HTTP status. Throw sites pick a code (or a class that carries more: details, headers); errors
 * cross threads only as `WireError` (`toWire` / `fromWire`).
 */

export interface EventProblem {
  readonly index: number;
  readonly path: string;
  readonly message: string;
}

/**
 * The error catalogue: every code the service raises, its HTTP status and its default message.
 * `http: true` codes are the contract (docs/API.md lists each, the OpenAPI enum is built from
 * them); the others name failures inside the service, which reach a client only as the message
 * of a 503 (a shard that cannot commit) or stop the start-up.
 */
const catalogue = {
  bad_request: { status: 400, http: true, message: 'the HTTP request is ambiguous' },
  bad_json: { status: 400, http: true, message: 'the body cannot be parsed' },
  bad_encoding: { status: 400, http: true, message: 'the body is not valid for its Content-Encoding' },
  invalid_query: { status: 400, http: true, message: 'a query parameter is not valid' },
  invalid_selector: { status: 400, http: true, message: 'the deletion selector is not valid' },
  invalid_group: { status: 400, http: true, message: 'the group name or its body is not valid' },
  unauthorized: { status: 401, http: true, message: 'a bearer token is required' },
  forbidden: { status: 403, http: true, message: 'the token does not allow this' },
  not_found: { status: 404, http: true, message: 'no such route' },
  group_not_found: { status: 404, http: true, message: 'no consumer group of that name' },
  method_not_allowed: { status: 405, http: true, message: 'the route does not take this method' },
  group_conflict: { status: 409, http: true, message: 'the group exists with other topics or start; delete it first' },
  too_large: { status: 413, http: true, message: 'the body or batch is over the limit' },
  unsupported_media_type: { status: 415, http: true, message: 'use application/json, application/x-ndjson or application/msgpack' },
  invalid_event: { status: 422, http: true, message: 'an event does not match the schema; nothing was stored' },
  internal: { status: 500, http: true, message: 'internal error' },
  overloaded: { status: 503, http: true, message: 'the service cannot take this now; retry after Retry-After seconds' },
  disk_full: { status: 503, http: true, message: 'the data dir is below its free-disk floor (--min-free-bytes); retry after Retry-After seconds' },
  config_invalid: { status: 500, http: false, message: 'an option or the data dir does not fit' },
  ring_claimed: { status: 500, http: false, message: 'a second thread tried to consume a shard ring' },
  shard_file_damaged: { status: 500, http: false, message: 'a shard file is damaged' },
  shard_unreadable: { status: 500, http: false, message: 'SQLite cannot open or read a shard file' },
  log_malformed: { status: 500, http: false, message: 'a message of a shard log does not hold what it declares' },
  log_gap: { status: 500, http: false, message: 'a shard replica was given a log position that does not follow the last one it applied' },
  snapshot_missing: { status: 500, http: false, message: 'no snapshot of the shard exists yet' },
  snapshot_unusable: { status: 500, http: false, message: 'a shard snapshot is missing, damaged or behind what it must replace' },
} as const satisfies Record<string, { readonly status: number; readonly http: boolean; readonly message: string }>;

export type ErrorCode = keyof typeof catalogue;

export const errorCodes = Object.keys(catalogue) as ErrorCode[];

/** The codes a client can see in an `{"error": {...}}` body. */
export const httpErrorCodes = errorCodes.filter((code) => catalogue[code].http);

export function httpStatus(code: ErrorCode): number {
  return catalogue[code].status;
}

/** What the code means, in the catalogue's words. */
export function errorMeaning(code: ErrorCode): string {
  return catalogue[code].message;
}

function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(catalogue, code);
}

export class AggregatorError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string = catalogue[code].message, options?: { readonly cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }

  /** The code of the lower layer's error this one wraps (SQLite's `SQLITE_FULL`, an errno), if any. */
  get sourceCode(): string | undefined {
    const code = (this.cause as { code?: unknown } | undefined)?.code;
    return typeof code === 'string' ? code : undefined;
  }

  get status(): number {
    return httpStatus(this.code);
  }

  /** Headers the answer must carry (Allow, WWW-Authenticate, ...). */
  get headers(): Readonly<Record<string, string>> {
    return {};
  }

  toJSON(): { error: { code: ErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

/** The HTTP message itself is ambiguous (e.g. two different Content-Length headers). */
export class BadRequestError extends AggregatorError {
  constructor(message: string) {
    super('bad_request', message);
  }
}

export class BadJsonError extends AggregatorError {
  constructor(message: string) {
    super('bad_json', message);
  }
}

export class InvalidQueryError extends AggregatorError {
  constructor(message: string) {
    super('invalid_query', message);
  }
}

export class TooLargeError extends AggregatorError {
  constructor(message: string) {
    super('too_large', message);
  }
}

export class UnsupportedMediaTypeError extends AggregatorError {
  /** `what` is the Content-Type, or another header's value with its name (`Content-Encoding br`). */
  constructor(what: string, supported: string = catalogue.unsupported_media_type.message) {
    super('unsupported_media_type', what.startsWith('Content-Encoding') ? `${what} is not supported; use ${supported}` : `Content-Type "${what}" is not supported; ${supported}`);
  }
}

export class InvalidEventError extends AggregatorError {
  readonly details: readonly EventProblem[];

  constructor(details: readonly EventProblem[], eventCount: number) {
    const first = details[0];
    super(
      'invalid_event',
      first
        ? `${details.length} problem(s) in ${eventCount} event(s); nothing was stored. First: event ${first.index} ${first.path || '(whole event)'}: ${first.message}`
        : 'the request holds no events; send one event or an array of at least one',
    );
    this.details = details;
  }

  override toJSON(): { error: { code: ErrorCode; message: string; details: readonly EventProblem[] } } {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}

/** Backpressure or a shard that cannot commit: the client should retry after `retryAfterSeconds`. */
export class OverloadedError extends AggregatorError {
  constructor(message: string) {
    super('overloaded', message);
  }
}

export class NotFoundError extends AggregatorError {
  constructor(path: string) {
    super('not_found', `no route for ${path}`);
  }
}

export class MethodNotAllowedError extends AggregatorError {
  readonly #allow: string;

  constructor(method: string, path: string, allow: string) {
    super('method_not_allowed', `${method.toUpperCase()} is not allowed on ${path}; use ${allow}`);
    this.#allow = allow;
  }

  override get headers(): Readonly<Record<string, string>> {
    return { Allow: this.#allow };
  }
}

export class UnauthorizedError extends AggregatorError {
  constructor(message: string) {
    super('unauthorized', message);
  }

  override get headers(): Readonly<Record<string, string>> {
    return { 'WWW-Authenticate': 'Bearer realm="aggregator"' };
  }
}

export class ForbiddenError extends AggregatorError {
  constructor(message: string) {
    super('forbidden', message);
  }
}

/** Raised at startup for a bad option or a data dir that does not fit the options; never answered over HTTP. */
export class ConfigError extends AggregatorError {
  constructor(message: string, options?: { readonly cause?: unknown }) {
    super('config_invalid', message, options);
  }
}

/** An error as it crosses a thread boundary: errors do not survive postMessage intact (a subclass arrives as a plain Error without its code). */
export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
  /** The wrapped lower layer's code, e.g. SQLITE_BUSY. */
  readonly sourceCode?: string;
}

/** The sending side: any thrown value becomes `{ code, message }`; a foreign code (SQLite's) is kept as `sourceCode`. */
export function toWire(error: unknown): WireError {
  if (error instanceof AggregatorError) {
    const sourceCode = error.sourceCode;
    return sourceCode === undefined ? { code: error.code, message: error.message } : { code: error.code, message: error.message, sourceCode };
  }
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  if (isErrorCode(code)) return { code, message };
  return typeof code === 'string' ? { code: 'internal', message, sourceCode: code } : { code: 'internal', message };
}

/** The receiving side: the same code and message, the foreign code reachable as `sourceCode` again. */
export function fromWire(wire: WireError): AggregatorError {
  const cause = wire.sourceCode === undefined ? undefined : { code: wire.sourceCode };
  return new AggregatorError(wire.code, wire.message, cause ? { cause } : undefined);
}

/** Whatever was thrown, as the error it is answered with: anything not from the catalogue is a 500. */
export function toAggregatorError(error: unknown): AggregatorError {
  if (error instanceof AggregatorError) return error;
  return fromWire(toWire(error));
}
