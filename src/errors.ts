/**
 * Every error the service answers with: a stable code, its HTTP status, and nothing else.
 * Throw sites pick a class; `httpStatus` is the one place a code becomes a status.
 */

export interface EventProblem {
  readonly index: number;
  readonly path: string;
  readonly message: string;
}

const statusByCode = {
  bad_request: 400,
  bad_json: 400,
  invalid_query: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  too_large: 413,
  unsupported_media_type: 415,
  invalid_event: 422,
  internal: 500,
  overloaded: 503,
} as const;

export type ErrorCode = keyof typeof statusByCode;

export class AggregatorError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
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
  constructor(contentType: string) {
    super(
      'unsupported_media_type',
      `Content-Type "${contentType}" is not supported; use application/json, application/x-ndjson or application/msgpack`,
    );
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
export class ConfigError extends Error {
  readonly code = 'config_invalid';

  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function httpStatus(code: ErrorCode): number {
  return statusByCode[code];
}

/** Errors do not cross postMessage intact, so workers send `{ code, message }` and the main side rebuilds. */
export function toAggregatorError(error: unknown): AggregatorError {
  if (error instanceof AggregatorError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new AggregatorError('internal', message);
}

export const errorCodes = Object.keys(statusByCode) as ErrorCode[];
