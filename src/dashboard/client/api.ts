import { readToken } from './token.js';

/** An error answer of the service: the status and the stable `error.code` of docs/API.md. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }

  /** The service wants a (different) read token. */
  get needsToken(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

export type Connection = { readonly state: 'ok' } | { readonly state: 'token'; readonly message: string } | { readonly state: 'down'; readonly message: string };

const connectionListeners = new Set<(connection: Connection) => void>();

/** Told after every request whether the service answered, refused the token, or could not be reached. */
export function onConnection(listener: (connection: Connection) => void): void {
  connectionListeners.add(listener);
}

function report(connection: Connection): void {
  for (const listener of connectionListeners) listener(connection);
}

const kTimeoutMs = 10_000;

export interface GetOptions {
  /**
   * False for the routes that need no token (/, /openapi.json), or another scope's (/groups): their
   * success says nothing about the read token, so it must not clear a "needs a token" banner.
   */
  readonly tokenRoute?: boolean;
}

/** GET a JSON route with the read token (if one was given) as a bearer token. */
export async function getJson<T>(path: string, options: GetOptions = {}): Promise<T> {
  const tokenRoute = options.tokenRoute ?? true;
  const token = readToken();
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(path, { headers, cache: 'no-store', signal: AbortSignal.timeout(kTimeoutMs) });
  } catch (error) {
    const message = `cannot reach the service (${error instanceof Error ? error.message : String(error)})`;
    report({ state: 'down', message });
    throw new ApiError(0, 'unreachable', message);
  }
  const text = await response.text();
  if (!response.ok) {
    const failure = parseError(response.status, text);
    if (tokenRoute) report(failure.needsToken ? { state: 'token', message: failure.message } : { state: 'ok' });
    throw failure;
  }
  if (tokenRoute) report({ state: 'ok' });
  return JSON.parse(text) as T;
}

function parseError(status: number, text: string): ApiError {
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    return new ApiError(status, body.error?.code ?? 'unknown', body.error?.message ?? text);
  } catch {
    return new ApiError(status, 'unknown', text || `HTTP ${status}`);
  }
}

/**
 * The /tail WebSocket URL. Browsers cannot put headers on a WebSocket, so the token goes in the
 * query as `access_token`, which the service accepts for exactly this reason. `filters`: what
 * /tail filters by besides the topic (q, since, until).
 */
export function tailUrl(topic: string | null, after: string | null, filters: Readonly<Record<string, string>> = {}): string {
  const params = new URLSearchParams();
  if (topic) params.set('topic', topic);
  for (const [name, value] of Object.entries(filters)) params.set(name, value);
  if (after) params.set('after', after);
  const token = readToken();
  if (token) params.set('access_token', token);
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const query = params.toString();
  return `${scheme}//${location.host}/tail${query ? `?${query}` : ''}`;
}

/** `filters`: search parameters as /events takes them (since, until, source, payload.<path>). */
export function eventsPath(topic: string | null, limit: number, after: string | null, filters: Readonly<Record<string, string>> = {}): string {
  const params = new URLSearchParams({ limit: String(limit) });
  if (topic) params.set('topic', topic);
  for (const [name, value] of Object.entries(filters)) params.set(name, value);
  if (after) params.set('after', after);
  return `/events?${params}`;
}

/** GET /search (`route` '') or /search/histogram with these parameters; empty ones are left out, as the routes read them as absent. */
export function searchPath(route: '' | '/histogram', parameters: Readonly<Record<string, string | null>>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(parameters)) if (value !== null && value !== '') params.set(name, value);
  const query = params.toString();
  return `/search${route}${query ? `?${query}` : ''}`;
}
