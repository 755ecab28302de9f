import type { HttpRequest, HttpResponse, WebSocket, WebSocketBehavior, us_socket_context_t } from 'uWebSockets.js';
import { toAggregatorError } from '../errors.js';
import { checkGroupName, parseSettle, type SettleVerb } from '../groups/model.js';
import type { GroupService } from '../delivery/group-service.js';
import type { Reply } from './reply.js';

/** What a consume WebSocket carries from its upgrade to its close. */
interface SocketData {
  readonly name: string;
  readonly consumer: string;
  credit: number;
  fetching: boolean;
  open: boolean;
}

/** A socket's fetches long-poll this long before looking again (the socket may have closed meanwhile). */
const kWaitMs = 5000;
const kMaxBatch = 100;
const kMaxCredit = 10_000;
const kGroupMissing = 4004;

/**
 * GET /groups/{name}/consume: a WebSocket on which the server pushes `{"messages": [...]}` while the
 * client has credit (`{"credit": n}` adds n), and takes `{"ack" | "nak" | "term" | "extend": [ids]}`
 * (with `delay_ms` or `reason` beside), each confirmed by `{"<verb>": {"<counted>": n, "results": [...]}}`
 * once committed. A refusal is `{"error": {...}}`; an unknown group closes the socket with 4004.
 */
export class ConsumeSocket {
  readonly #groups: GroupService;
  #next = 0;

  constructor(groups: GroupService) {
    this.#groups = groups;
  }

  upgrade(res: HttpResponse, req: HttpRequest, context: us_socket_context_t, reply: Reply): void {
    const name = checkGroupName(req.getParameter(0) ?? '');
    const data: SocketData = { name, consumer: `socket-${++this.#next}`, credit: 0, fetching: false, open: true };
    reply.upgraded();
    res.upgrade(data, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
  }

  behavior(): Omit<WebSocketBehavior<SocketData>, 'upgrade'> {
    return {
      maxPayloadLength: 256 * 1024,
      idleTimeout: 120,
      sendPingsAutomatically: true,
      open: (ws) => {
        const data = ws.getUserData();
        this.#groups.socket(data.name, 1);
        this.#groups.view(data.name).catch((error: unknown) => this.#refuse(ws, error));
      },
      message: (ws, bytes) => this.#message(ws, Buffer.from(bytes).toString('utf8')),
      close: (ws) => {
        const data = ws.getUserData();
        data.open = false;
        this.#groups.socket(data.name, -1);
      },
    };
  }

  #message(ws: WebSocket<SocketData>, text: string): void {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(text) as Record<string, unknown>;
      if (typeof message !== 'object' || message === null) throw new Error('not an object');
    } catch {
      this.#send(ws, { error: { code: 'bad_json', message: 'each message is a JSON object' } });
      return;
    }
    const data = ws.getUserData();
    if (typeof message.credit === 'number' && Number.isInteger(message.credit) && message.credit > 0) {
      data.credit = Math.min(kMaxCredit, data.credit + message.credit);
      this.#pump(ws);
    }
    for (const verb of ['ack', 'nak', 'term', 'extend'] as const satisfies readonly SettleVerb[]) {
      if (message[verb] === undefined) continue;
      // The same checks as the routes' bodies: `{"nak": [ids], "delay_ms": 0}` is `{"ids": [ids], "delay_ms": 0}`.
      Promise.resolve()
        .then(() => this.#groups.settle(verb, data.name, parseSettle(verb, { ...message, ids: message[verb] })))
        .then(
          (settled) => this.#send(ws, { [verb]: settled }),
          (error: unknown) => this.#refuse(ws, error),
        );
    }
  }

  /** Fetches while the socket is open and has credit; one fetch at a time per socket. */
  #pump(ws: WebSocket<SocketData>): void {
    const data = ws.getUserData();
    if (data.fetching || !data.open || data.credit <= 0) return;
    data.fetching = true;
    this.#groups.fetch(data.name, Math.min(kMaxBatch, data.credit), kWaitMs, data.consumer).then(
      (messages) => {
        data.fetching = false;
        if (!data.open) return;
        if (messages.length > 0) {
          data.credit -= messages.length;
          this.#send(ws, `{"messages":[${messages.join(',')}]}`);
        }
        this.#pump(ws);
      },
      (error: unknown) => {
        data.fetching = false;
        this.#refuse(ws, error);
      },
    );
  }

  #refuse(ws: WebSocket<SocketData>, error: unknown): void {
    const failure = toAggregatorError(error);
    if (!ws.getUserData().open) return;
    if (failure.code === 'group_not_found') ws.end(kGroupMissing, failure.message.slice(0, 120));
    else this.#send(ws, failure.toJSON());
  }

  #send(ws: WebSocket<SocketData>, message: unknown): void {
    if (ws.getUserData().open) ws.send(typeof message === 'string' ? message : JSON.stringify(message), false);
  }
}
