/**
 * What a route is: the shape of one entry of the route table (routes.ts), which the server
 * registers (server.ts) and the OpenAPI document describes (openapi.ts). Both import it from here.
 */
import type { HttpRequest, HttpResponse, WebSocketBehavior, us_socket_context_t } from 'uWebSockets.js';
import type { Scope } from './auth.js';
import type { Reply } from './reply.js';

export type Handler = (res: HttpResponse, req: HttpRequest, reply: Reply) => void;

export interface WebSocketRoute {
  /** Runs after the auth check, with the request's Reply for a refusal (and the 101 in the metrics). */
  readonly upgrade: (res: HttpResponse, req: HttpRequest, context: us_socket_context_t, reply: Reply) => void;
  // any: each WebSocket route has its own socket data type, and uWS's handler types are
  // contravariant in it, so no one type parameter fits every route's behaviour.
  readonly behavior: () => Omit<WebSocketBehavior<any>, 'upgrade'>;
}

export interface Route {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD';
  /** A uWS pattern: `:name` is a parameter, a trailing `/*` matches any rest. */
  readonly path: string;
  /** The `route` label of aggregator_http_requests_total. */
  readonly label: string;
  /** The token this route needs, when tokens are configured; null: open. */
  readonly scope: Scope | null;
  /** The token may also come as `?access_token=` (RFC 6750): browsers cannot set headers on a WebSocket. */
  readonly queryToken?: boolean;
  /** One line for the route list at GET / and the OpenAPI summary. */
  readonly summary: string;
  /** Left out of the route list (static files under a pattern). */
  readonly unlisted?: boolean;
  /** The OpenAPI operation less summary and security, which come from above; absent: not part of the API document. */
  readonly operation?: Readonly<Record<string, unknown>>;
  readonly handle: Handler | WebSocketRoute;
  /** Headers on every answer of the route, errors included. */
  readonly headers?: Readonly<Record<string, string>>;
}
