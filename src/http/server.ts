import uWS, { type HttpRequest, type HttpResponse, type TemplatedApp, type us_listen_socket } from 'uWebSockets.js';
import { ConfigError, MethodNotAllowedError, NotFoundError } from '../errors.js';
import type { Authenticator, Scope } from './auth.js';
import { readBody } from './body.js';
import type { DashboardHandlers } from './dashboard-handlers.js';
import type { PublishHandler } from './publish-handler.js';
import type { ReadHandlers } from './read-handlers.js';
import { Reply, type ReplySettings } from './reply.js';
import type { TailHub } from '../ingest/tail-hub.js';

export interface HttpOptions {
  readonly host: string;
  readonly port: number;
  readonly discardBytes: number;
}

export interface Routes {
  readonly publish: PublishHandler;
  readonly read: ReadHandlers;
  readonly tail: TailHub;
  readonly auth: Authenticator;
  readonly dashboard: DashboardHandlers;
}

type Handler = (res: HttpResponse, req: HttpRequest, reply: Reply) => void;

/**
 * The uWebSockets.js binding. Every route goes through `#route`, which creates the request's
 * Reply, checks the route's token scope and turns a thrown error into its answer; the handlers
 * themselves live in PublishHandler and ReadHandlers.
 */
export class HttpServer {
  readonly #app: TemplatedApp;
  readonly #options: HttpOptions;
  readonly #routes: Routes;
  readonly #replies: ReplySettings;
  #listenSocket: us_listen_socket | null = null;

  constructor(options: HttpOptions, routes: Routes, replies: ReplySettings) {
    this.#options = options;
    this.#routes = routes;
    this.#replies = replies;
    const { publish, read, dashboard } = routes;
    this.#app = uWS.App();
    this.#route('post', '/publish', 'publish', 'publish', (res, req, reply) => publish.handle(res, req, reply));
    this.#route('get', '/events', 'events', 'read', (_res, req, reply) => read.events(req, reply));
    this.#route('get', '/stats', 'stats', 'read', (_res, _req, reply) => read.stats(reply));
    this.#route('get', '/metrics', 'metrics', 'read', (_res, _req, reply) => read.metrics(reply));
    this.#route('get', '/health', 'health', null, (_res, _req, reply) => read.health(reply));
    this.#route('get', '/openapi.json', 'openapi', null, (_res, _req, reply) => read.openApi(reply));
    this.#route('get', '/', 'dashboard', null, (_res, req, reply) => dashboard.root(req, reply));
    this.#route('get', '/docs', 'dashboard', null, (_res, _req, reply) => dashboard.docs(reply));
    this.#route('get', '/dashboard/*', 'dashboard', null, (_res, req, reply) => dashboard.asset(req.getUrl(), reply));
    routes.tail.attach(this.#app, '/tail');
    for (const [path, allow] of [['/', 'GET'], ['/docs', 'GET'], ['/publish', 'POST'], ['/events', 'GET'], ['/stats', 'GET'], ['/metrics', 'GET'], ['/health', 'GET'], ['/openapi.json', 'GET']] as const) {
      this.#route('any', path, 'other', null, (_res, req, reply) => reply.error(new MethodNotAllowedError(req.getMethod(), path, allow)));
    }
    this.#route('any', '/*', 'other', null, (_res, req, reply) => reply.error(new NotFoundError(req.getUrl())));
  }

  /** Resolves with the bound port (useful with port 0). */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#app.listen(this.#options.host, this.#options.port, (socket) => {
        if (!socket) {
          reject(new ConfigError(`cannot listen on ${this.#options.host}:${this.#options.port}: the port is in use or not permitted`));
          return;
        }
        this.#listenSocket = socket;
        resolve(uWS.us_socket_local_port(socket as unknown as uWS.us_socket));
      });
    });
  }

  /** Stops accepting connections; requests already in flight still get their answers. */
  stopListening(): void {
    if (this.#listenSocket) uWS.us_listen_socket_close(this.#listenSocket);
    this.#listenSocket = null;
  }

  #route(method: 'get' | 'post' | 'any', path: string, label: string, scope: Scope | null, handler: Handler): void {
    this.#app[method](path, (res, req) => {
      const reply = new Reply(res, label, this.#replies);
      const denied = scope ? this.#routes.auth.check(req.getHeader('authorization'), scope) : null;
      if (denied && method === 'post') {
        // Read and drop the body first, so the client is not reset mid-upload and sees the answer.
        const cancel = readBody(res, null, { maxBodyBytes: 0, discardBytes: this.#options.discardBytes }, null, () => reply.error(denied));
        reply.onAbort(cancel);
        return;
      }
      if (denied) return reply.error(denied);
      try {
        handler(res, req, reply);
      } catch (error) {
        reply.error(error);
      }
    });
  }
}
