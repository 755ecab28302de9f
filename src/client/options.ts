import { isRecord } from './errors.js';
import type { RetryNotice, TlsOptions } from './transport.js';

/** What `new Client(options)` takes; every field but `url` has a default (clientDefaults). */
export interface ClientOptions {
  /** The aggregator's base URL: http://host:port or https://host:port, maybe with a path prefix. */
  readonly url: string;
  /** Sent as `Authorization: Bearer <token>` (the service's publish token, docs/API.md#tokens). */
  readonly token?: string;
  /** Extra headers for every request (a proxy's own authentication, say). */
  readonly headers?: Readonly<Record<string, string>>;
  /** For an https:// URL: certificate authorities, a client certificate, strictness. */
  readonly tls?: TlsOptions;
  /** Most events in one request. */
  readonly maxBatchEvents?: number;
  /** Most bytes of JSON in one request body (before gzip); a single bigger event still goes alone. */
  readonly maxBatchBytes?: number;
  /** How long a batch waits for more events after its first one, ms. */
  readonly lingerMs?: number;
  /** Events held (batching, in flight, retrying) at once; beyond it publish() waits its turn (see ready()). */
  readonly maxBufferedEvents?: number;
  /** Requests in flight at once (keep-alive sockets). */
  readonly concurrency?: number;
  /** Retries per request on a network error or a 408/429/502/503/504 answer; Infinity never gives up. */
  readonly maxRetries?: number;
  /** An attempt without an answer for this long counts as a network error, ms. */
  readonly timeoutMs?: number;
  /** gzip request bodies: true for bodies of 1 KiB or more, a number for that many bytes or more, false never. */
  readonly gzip?: boolean | number;
  /** Called before each retry wait: for logs and metrics. */
  readonly onRetry?: (notice: RetryNotice) => void;
}

const KiB = 1024;
const MiB = 1024 * KiB;

export const clientDefaults = Object.freeze({
  maxBatchEvents: 500, // events; the server takes up to its --max-batch (10 000 by default)
  maxBatchBytes: 1 * MiB, // bytes; well under the server's --max-body-bytes (16 MiB by default)
  lingerMs: 5, // ms; long enough to gather a burst, short enough not to be noticed alone
  maxBufferedEvents: 10_000, // events
  concurrency: 4, // requests in flight
  maxRetries: 10, // per request; with the backoff's 5 s cap, about half a minute of trouble
  timeoutMs: 30_000, // ms
  gzip: false, // compression costs CPU on both ends; worth it over a slow link, not on a LAN
});

/** `gzip: true` compresses bodies of at least this many bytes: below it the header and CPU outweigh the gain. */
export const kGzipDefaultMinBytes = 1 * KiB;

/** The options as the client uses them: checked, defaults filled, frozen. */
export interface ResolvedClientOptions {
  /** No trailing slash. */
  readonly url: string;
  /** Extra headers with `authorization` from the token. */
  readonly headers: Readonly<Record<string, string>>;
  readonly tls: TlsOptions | undefined;
  readonly maxBatchEvents: number;
  readonly maxBatchBytes: number;
  readonly lingerMs: number;
  readonly maxBufferedEvents: number;
  readonly concurrency: number;
  readonly maxRetries: number;
  readonly timeoutMs: number;
  /** null: never compress. */
  readonly gzipMinBytes: number | null;
  readonly onRetry: ((notice: RetryNotice) => void) | undefined;
}

/** [min, max] of each integer option; the bounds in the message come from here too. */
const integerRanges = {
  maxBatchEvents: [1, 10_000],
  maxBatchBytes: [1 * KiB, 16 * MiB],
  lingerMs: [0, 60_000],
  maxBufferedEvents: [1, 10_000_000],
  concurrency: [1, 1024],
  maxRetries: [0, 1000],
  timeoutMs: [1, 600_000],
} as const satisfies Record<string, readonly [number, number]>;

const optionNames = new Set<string>(['url', 'token', 'headers', 'tls', 'gzip', 'onRetry', ...Object.keys(integerRanges)]);
const tlsNames = new Set<string>(['ca', 'cert', 'key', 'rejectUnauthorized', 'servername']);

/**
 * Checks the options once, in the constructor: a mistake fails there with a message naming the
 * option and its rule (`options.maxBatchEvents must be an integer from 1 to 10000`), never later
 * as a puzzling refusal from the server. Unknown names are refused too: a typo would otherwise
 * silently leave a default in place.
 */
export function resolveClientOptions(options: ClientOptions): ResolvedClientOptions {
  if (!isRecord(options)) throw new TypeError('options must be an object with at least a url');
  for (const name of Object.keys(options)) {
    if (!optionNames.has(name)) throw new TypeError(`options.${name} is not an option`);
  }
  const url = checkUrl(options.url);
  const integers = Object.fromEntries(
    Object.entries(integerRanges).map(([name, [min, max]]) => {
      const given: unknown = options[name as keyof typeof integerRanges];
      const value = given === undefined ? clientDefaults[name as keyof typeof integerRanges] : given;
      const allowed = Number.isInteger(value) && (value as number) >= min && (value as number) <= max;
      const infiniteRetries = name === 'maxRetries' && value === Infinity;
      if (!allowed && !infiniteRetries) throw new TypeError(`options.${name} must be an integer from ${min} to ${max}${name === 'maxRetries' ? ', or Infinity' : ''}`);
      return [name, value as number];
    }),
  ) as Record<keyof typeof integerRanges, number>;
  if (options.onRetry !== undefined && typeof options.onRetry !== 'function') throw new TypeError('options.onRetry must be a function');
  return Object.freeze({
    url: url.text,
    headers: Object.freeze(checkHeaders(options.headers, options.token)),
    tls: checkTls(options.tls, url.secure),
    ...integers,
    gzipMinBytes: checkGzip(options.gzip === undefined ? clientDefaults.gzip : options.gzip),
    onRetry: options.onRetry,
  });
}

function checkUrl(value: unknown): { readonly text: string; readonly secure: boolean } {
  const rule = 'options.url must be an http:// or https:// URL without query or fragment';
  if (typeof value !== 'string') throw new TypeError(rule);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`${rule}, got ${JSON.stringify(value)}`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '') throw new TypeError(`${rule}, got ${JSON.stringify(value)}`);
  return { text: url.href.replace(/\/+$/, ''), secure: url.protocol === 'https:' };
}

function checkHeaders(headers: unknown, token: unknown): Record<string, string> {
  const result: Record<string, string> = {};
  if (headers !== undefined) {
    if (!isRecord(headers)) throw new TypeError('options.headers must be an object of string values');
    for (const [name, value] of Object.entries(headers)) {
      if (typeof value !== 'string') throw new TypeError('options.headers must be an object of string values');
      result[name.toLowerCase()] = value;
    }
  }
  if (token !== undefined) {
    // Control characters would be refused by node:http at the first request; say so now.
    if (typeof token !== 'string' || token === '' || /[\u0000-\u001f\u007f]/.test(token)) throw new TypeError('options.token must be a non-empty string without control characters');
    result.authorization = `Bearer ${token}`;
  }
  return result;
}

function checkTls(tls: unknown, secure: boolean): TlsOptions | undefined {
  if (tls === undefined) return undefined;
  if (!isRecord(tls)) throw new TypeError('options.tls must be an object');
  if (!secure) throw new TypeError('options.tls needs an https:// url: over http:// it would be silently unused');
  for (const [name, value] of Object.entries(tls)) {
    if (!tlsNames.has(name)) throw new TypeError(`options.tls.${name} is not an option`);
    if (value === undefined) continue;
    if (name === 'rejectUnauthorized' && typeof value !== 'boolean') throw new TypeError('options.tls.rejectUnauthorized must be a boolean');
    if (name === 'servername' && typeof value !== 'string') throw new TypeError('options.tls.servername must be a string');
    if ((name === 'cert' || name === 'key') && !isPem(value)) throw new TypeError(`options.tls.${name} must be a PEM string or a Buffer`);
    if (name === 'ca' && !(isPem(value) || (Array.isArray(value) && value.every(isPem)))) throw new TypeError('options.tls.ca must be a PEM string, a Buffer, or an array of them');
  }
  return Object.freeze({ ...(tls as TlsOptions) });
}

function checkGzip(value: unknown): number | null {
  if (value === false) return null;
  if (value === true) return kGzipDefaultMinBytes;
  if (Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 16 * MiB) return value as number;
  throw new TypeError(`options.gzip must be a boolean or an integer from 0 to ${16 * MiB} (the least body bytes to compress)`);
}

function isPem(value: unknown): boolean {
  return typeof value === 'string' || Buffer.isBuffer(value);
}
