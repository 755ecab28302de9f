import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import uWS, { type HttpRequest, type HttpResponse, type TemplatedApp, type us_listen_socket } from 'uWebSockets.js';
import { BadRequestError, ConfigError, MethodNotAllowedError, NotFoundError, type AggregatorError } from '../errors.js';
import type { Authenticator } from './auth.js';
import { readBody } from './body.js';
import { Reply, type ReplySettings } from './reply.js';
import type { Handler, Route } from './route.js';
import { TlsFront, type TlsFiles } from './tls-front.js';

export interface HttpOptions {
  readonly host: string;
  readonly port: number;
  readonly discardBytes: number;
  /** Serve HTTPS: the routes sit behind a TLS listener on host:port (tls-front.ts). */
  readonly tls: (TlsFiles & { readonly reloadMs: number; readonly onReload: NonNullable<ConstructorParameters<typeof TlsFront>[0]['onReload']> }) | null;
}

/**
 * The uWebSockets.js binding of the route table. Every request gets its Reply (one answer, abort
 * tracking, metrics), then the route's auth check, then its handler; a thrown error becomes its
 * answer. Every other method on a known path is a 405 with `Allow`, every other path a 404.
 */
export class HttpServer {
  readonly #app: TemplatedApp;
  readonly #options: HttpOptions;
  readonly #auth: Authenticator;
  readonly #replies: ReplySettings;
  #listenSocket: us_listen_socket | null = null;
  #tlsFront: TlsFront | null = null;
  #socketDir: string | null = null;

  constructor(options: HttpOptions, routes: readonly Route[], auth: Authenticator, replies: ReplySettings) {
    this.#options = options;
    this.#auth = auth;
    this.#replies = replies;
    this.#app = uWS.App();
    const methodsByPath = new Map<string, string[]>();
    for (const route of routes) {
      this.#register(route);
      const methods = methodsByPath.get(route.path) ?? [];
      methodsByPath.set(route.path, [...methods, route.method]);
    }
    for (const [path, methods] of methodsByPath) {
      const allow = methods.join(', ');
      this.#app.any(path, (res, req) => {
        const method = req.getMethod().toUpperCase();
        // Only a WebSocket route lets a request of its own method through: one without the upgrade.
        const error = methods.includes(method) ? new BadRequestError(`${path} is a WebSocket: send Upgrade: websocket`) : new MethodNotAllowedError(method, path, allow);
        new Reply(res, 'other', this.#replies).error(error);
      });
    }
    this.#app.any('/*', (res, req) => new Reply(res, 'other', this.#replies).error(new NotFoundError(req.getUrl())));
  }

  /** Resolves with the bound port (useful with port 0). */
  async listen(): Promise<number> {
    const { tls, host, port } = this.#options;
    if (tls === null) return this.#listenOn((callback) => this.#app.listen(host, port, callback), `${host}:${port}`);
    // Checked before anything listens: a bad certificate is a start-up error, not a dead port.
    this.#socketDir = mkdtempSync(join(tmpdir(), 'aggregator-tls-'));
    const innerPath = join(this.#socketDir, 'http.sock');
    try {
      this.#tlsFront = new TlsFront({ ...tls, host, port, innerPath });
      await this.#listenOn((callback) => this.#app.listen_unix(callback, innerPath), innerPath);
      return await this.#tlsFront.listen();
    } catch (error) {
      this.stopListening();
      throw error;
    }
  }

  /** Reads the TLS certificate files again (SIGHUP); nothing when serving plain HTTP. */
  reloadTls(): void {
    this.#tlsFront?.reload();
  }

  /** Stops accepting connections; requests already in flight still get their answers. */
  stopListening(): void {
    this.#tlsFront?.stopListening();
    if (this.#listenSocket) uWS.us_listen_socket_close(this.#listenSocket);
    this.#listenSocket = null;
    if (this.#socketDir) rmSync(this.#socketDir, { recursive: true, force: true });
    this.#socketDir = null;
  }

  #listenOn(listen: (callback: (socket: us_listen_socket | false) => void) => void, where: string): Promise<number> {
    return new Promise((resolve, reject) => {
      listen((socket) => {
        if (!socket) {
          reject(new ConfigError(`cannot listen on ${where}: the port is in use or not permitted`));
          return;
        }
        this.#listenSocket = socket;
        resolve(uWS.us_socket_local_port(socket as unknown as uWS.us_socket));
      });
    });
  }

  #register(route: Route): void {
    const { handle } = route;
    if (typeof handle !== 'function') {
      this.#app.ws(route.path, {
        ...handle.behavior(),
        upgrade: (res, req, context) => {
          const reply = new Reply(res, route.label, this.#replies, route.headers);
          if (this.#admit(route, res, req, reply)) this.#run(reply, () => handle.upgrade(res, req, context, reply));
        },
      });
      return;
    }
    const register = { GET: this.#app.get, POST: this.#app.post, PUT: this.#app.put, DELETE: this.#app.del, HEAD: this.#app.head }[route.method].bind(this.#app);
    register(route.path, (res, req) => {
      const reply = new Reply(res, route.label, this.#replies, route.headers);
      if (this.#admit(route, res, req, reply)) this.#run(reply, () => (handle as Handler)(res, req, reply));
    });
  }

  /** The auth check: false when the request was refused (and is being answered). */
  #admit(route: Route, res: HttpResponse, req: HttpRequest, reply: Reply): boolean {
    if (!route.scope) return true;
    const denied = this.#auth.check(credentials(route, req), route.scope);
    if (!denied) return true;
    if (route.method === 'POST' || route.method === 'PUT') this.#refuseUpload(res, reply, denied);
    else reply.error(denied);
    return false;
  }

  /** Reads and drops the body first, so the client is not reset mid-upload and sees the answer. */
  #refuseUpload(res: HttpResponse, reply: Reply, denied: AggregatorError): void {
    const cancel = readBody(res, null, { maxBodyBytes: 0, discardBytes: this.#options.discardBytes }, null, () => reply.error(denied));
    reply.onAbort(cancel);
  }

  #run(reply: Reply, handler: () => void): void {
    try {
      handler();
    } catch (error) {
      reply.error(error);
    }
  }
}

function credentials(route: Route, req: HttpRequest): string {
  const token = route.queryToken ? new URLSearchParams(req.getQuery() ?? '').get('access_token') : null;
  return token ? `Bearer ${token}` : req.getHeader('authorization');
}
