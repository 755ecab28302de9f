import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** Passed to node:https for an https:// URL (the server's own certificate authority, a client certificate). */
export interface TlsOptions {
  /** Certificate authorities to trust instead of Node's bundle (PEM). */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  /** A client certificate and its key (PEM), for a server that asks for one. */
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  /** false accepts any certificate: for a test bench only. Default true. */
  readonly rejectUnauthorized?: boolean;
  /** The name to check the certificate against when the URL's host is an IP address. */
  readonly servername?: string;
}

/** Keep-alive sockets to one server, over node:http or (for an https:// URL) node:https. */
export interface ConnectionPool {
  readonly agent: HttpAgent;
  readonly request: (url: string, options: RequestOptions, onResponse: (response: IncomingMessage) => void) => ClientRequest;
}

export function connectionPool(url: string, maxSockets: number, tls: TlsOptions | undefined): ConnectionPool {
  const pool = { keepAlive: true, maxSockets, maxFreeSockets: Number.isFinite(maxSockets) ? maxSockets : 256 };
  if (!url.startsWith('https:')) return { agent: new HttpAgent(pool), request: httpRequest };
  const { ca, ...rest } = tls ?? {};
  return { agent: new HttpsAgent({ ...pool, ...rest, ...(ca === undefined ? {} : { ca: typeof ca === 'string' || Buffer.isBuffer(ca) ? ca : [...ca] }) }), request: httpsRequest };
}

export interface Exchange {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string | number>>;
  readonly body: Buffer | null;
  /** No byte from the server for this long ends the attempt as a network error. */
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  /** Answers are small JSON documents: past this size only a prefix is kept. */
  readonly maxAnswerBytes: number;
}

/** What one attempt came to: an answer (any status), or the network error that stopped it. */
export type Outcome =
  | { readonly status: number; readonly retryAfter: string | undefined; readonly text: string; readonly latencyMs: number }
  | { readonly networkError: unknown };

/** One request and its whole answer; it never throws: a failure is the outcome's networkError. */
export function exchange(pool: ConnectionPool, attempt: Exchange): Promise<Outcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    const fail = (networkError: unknown): void => resolve({ networkError });
    const request = pool.request(attempt.url, { method: attempt.method, agent: pool.agent, headers: attempt.headers, timeout: attempt.timeoutMs, signal: attempt.signal }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= attempt.maxAnswerBytes) chunks.push(chunk);
      });
      response.on('error', fail);
      response.on('close', () => {
        if (!response.complete) fail(new Error('connection closed before the answer was complete'));
      });
      response.on('end', () => {
        resolve({ status: response.statusCode ?? 0, retryAfter: response.headers['retry-after'], text: Buffer.concat(chunks).toString('utf8'), latencyMs: performance.now() - started });
      });
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${attempt.timeoutMs} ms`)));
    request.on('error', fail);
    request.end(attempt.body ?? undefined);
  });
}
