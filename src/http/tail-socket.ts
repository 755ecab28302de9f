import type { HttpRequest, HttpResponse, WebSocket, WebSocketBehavior, us_socket_context_t } from 'uWebSockets.js';
import { parseEventsQuery } from '../events/query.js';
import { parseSearchQuery } from '../search/query.js';
import type { Subscriber, TailHub, TailSubscription } from '../ingest/tail-hub.js';
import type { Reply } from './reply.js';

export interface TailSocketOptions {
  readonly maxBacklogBytes: number;
  readonly pageSize: number;
  /** The largest event, to bound the size of one message. */
  readonly maxEventBytes: number;
}

/** What a /tail WebSocket carries from its upgrade to its close. */
interface SocketData {
  readonly subscription: TailSubscription;
  subscriber: Subscriber | null;
}

/**
 * The uWS side of GET /tail: the upgrade (query parsed before it, so a bad one is an ordinary 400
 * answered by the route table's Reply, as are the 401/403 of the auth check before it), and the
 * WebSocket events handed to the hub.
 */
export class TailSocket {
  readonly #hub: TailHub;
  readonly #options: TailSocketOptions;

  constructor(hub: TailHub, options: TailSocketOptions) {
    this.#hub = hub;
    this.#options = options;
  }

  upgrade(res: HttpResponse, req: HttpRequest, context: us_socket_context_t, reply: Reply): void {
    const params = new URLSearchParams(req.getQuery() ?? '');
    const query = parseEventsQuery(params, this.#hub.cursorVersion);
    const search = parseSearchQuery(params.get('q') ?? '');
    const data: SocketData = { subscription: this.#hub.subscription(query.topic, query.filter, search, query.hasCursor ? query.afterSeq : null), subscriber: null };
    reply.upgraded();
    res.upgrade(data, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
  }

  /** The WebSocket behaviour, less `upgrade`, which the route table wraps. */
  behavior(): Omit<WebSocketBehavior<SocketData>, 'upgrade'> {
    const hub = this.#hub;
    return {
      maxPayloadLength: 1024, // subscribers have nothing to say
      // The backlog is checked before each page is read, so a subscriber holds at most the backlog
      // plus one page. uWS's own limit sits above that: past it uWS drops frames (the close frame
      // too, which would end the stream with 1006 instead of 4008).
      maxBackpressure: this.#options.maxBacklogBytes + this.#options.pageSize * this.#options.maxEventBytes + 64 * 1024,
      closeOnBackpressureLimit: 0,
      idleTimeout: 120,
      sendPingsAutomatically: true,
      open: (ws) => {
        const data = ws.getUserData();
        data.subscriber = hub.open(data.subscription, connectionOf(ws));
      },
      drain: (ws) => {
        const { subscriber } = ws.getUserData();
        if (subscriber) hub.resume(subscriber);
      },
      close: (ws) => {
        const { subscriber } = ws.getUserData();
        if (subscriber) hub.closed(subscriber);
      },
    };
  }
}

function connectionOf(ws: WebSocket<SocketData>): Parameters<TailHub['open']>[1] {
  return {
    // 2 = dropped at the backpressure limit; 0 (buffered) and 1 (sent) both keep the stream whole.
    send: (message) => ws.send(message, false) !== 2,
    bufferedBytes: () => ws.getBufferedAmount(),
    end: (code, reason) => ws.end(code, reason),
  };
}
