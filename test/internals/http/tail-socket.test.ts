import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { WebSocket, us_socket_context_t } from 'uWebSockets.js';
import { AggregatorError } from '../../../src/errors.js';
import { encodeCursor } from '../../../src/events/cursor.js';
import { TailSocket } from '../../../src/http/tail-socket.js';
import { Reply } from '../../../src/http/reply.js';
import type { Subscriber, TailConnection, TailHub, TailSubscription } from '../../../src/ingest/tail-hub.js';
import { FakeRequest, FakeResponse } from './fake-uws.js';

/** The hub's methods the socket calls, recorded. */
class FakeHub {
  readonly cursorVersion = 2 as const;
  readonly subscriptions: unknown[][] = [];
  readonly opened: { subscription: TailSubscription; connection: TailConnection }[] = [];
  readonly resumed: Subscriber[] = [];
  readonly closed: Subscriber[] = [];

  subscription(topic: string | null, filter: unknown, search: unknown, afterSeq: number | null): TailSubscription {
    this.subscriptions.push([topic, filter, afterSeq]);
    return { topic, filter: null, search: null, afterSeq: afterSeq ?? 0 };
  }

  open(subscription: TailSubscription, connection: TailConnection): Subscriber {
    this.opened.push({ subscription, connection });
    return { ...subscription, connection, reading: false, closed: false };
  }

  resume(subscriber: Subscriber): void {
    this.resumed.push(subscriber);
  }

  // `closed` is taken by the record above: the hub's method is installed under its name in `asHub`.
  asHub(): TailHub {
    return { cursorVersion: this.cursorVersion, subscription: this.subscription.bind(this), open: this.open.bind(this), resume: this.resume.bind(this), closed: (subscriber: Subscriber) => this.closed.push(subscriber) } as unknown as TailHub;
  }
}

class UpgradingResponse extends FakeResponse {
  upgrades: unknown[][] = [];

  upgrade(...args: unknown[]): void {
    this.upgrades.push(args);
  }
}

/** A uWS WebSocket with user data; `sendResults` are what each `send` returns (0 buffered, 1 sent, 2 dropped). */
function fakeWebSocket(data: unknown, sendResults: number[] = []): { ws: WebSocket<never>; sent: string[]; ended: [number, string][] } {
  const sent: string[] = [];
  const ended: [number, string][] = [];
  const ws = {
    getUserData: () => data,
    send: (message: string) => {
      sent.push(message);
      return sendResults.shift() ?? 1;
    },
    getBufferedAmount: () => 4096,
    end: (code: number, reason: string) => ended.push([code, reason]),
  } as unknown as WebSocket<never>;
  return { ws, sent, ended };
}

const options = { maxBacklogBytes: 1_000_000, pageSize: 100, maxEventBytes: 10_000 };

describe('TailSocket', () => {
  test('upgrade parses the query with the hub\'s cursor version, subscribes, and counts the answer as a 101', () => {
    const hub = new FakeHub();
    const socket = new TailSocket(hub.asHub(), options);
    const res = new UpgradingResponse();
    const statuses: number[] = [];
    const reply = new Reply(res.uws, '/tail', { retryAfterSeconds: 1, onAnswer: (_, status) => statuses.push(status) });
    const req = new FakeRequest({ query: `topic=auth.prod&after=${encodeCursor(42, 2)}`, headers: [['sec-websocket-key', 'k'], ['sec-websocket-protocol', 'p'], ['sec-websocket-extensions', 'e']] });
    const context = {} as us_socket_context_t;
    socket.upgrade(res.uws, req.uws, context, reply);
    assert.deepEqual(hub.subscriptions, [['auth.prod', null, 42]]);
    assert.deepEqual(statuses, [101]);
    assert.equal(res.upgrades.length, 1);
    const [data, key, protocol, extensions, passedContext] = res.upgrades[0]!;
    assert.deepEqual(data, { subscription: { topic: 'auth.prod', filter: null, search: null, afterSeq: 42 }, subscriber: null });
    assert.deepEqual([key, protocol, extensions], ['k', 'p', 'e']);
    assert.equal(passedContext, context);
  });

  test('without a cursor the subscription starts at the hub\'s watermark (null); a bad query throws before any upgrade', () => {
    const hub = new FakeHub();
    const socket = new TailSocket(hub.asHub(), options);
    const plain = new UpgradingResponse();
    socket.upgrade(plain.uws, new FakeRequest({}).uws, {} as us_socket_context_t, new Reply(plain.uws, '/tail', { retryAfterSeconds: 1 }));
    assert.deepEqual(hub.subscriptions, [[null, null, null]]);

    const bad = new UpgradingResponse();
    const reply = new Reply(bad.uws, '/tail', { retryAfterSeconds: 1 });
    const v1Cursor = new FakeRequest({ query: `after=${encodeCursor(42, 1)}` });
    assert.throws(() => socket.upgrade(bad.uws, v1Cursor.uws, {} as us_socket_context_t, reply), (error: unknown) => error instanceof AggregatorError && error.code === 'invalid_query');
    assert.equal(reply.done, false, 'left to the route table to answer 400');
    assert.deepEqual(bad.upgrades, []);
  });

  test('uWS\'s backpressure limit sits above the backlog plus one page, so a close frame is never dropped', () => {
    const behavior = new TailSocket(new FakeHub().asHub(), options).behavior();
    assert.equal(behavior.maxBackpressure, 1_000_000 + 100 * 10_000 + 64 * 1024);
    assert.equal(behavior.closeOnBackpressureLimit, 0);
  });

  test('open gives the hub a connection on the socket: a send dropped by uWS (2) is false, a buffered one (0) is not', () => {
    const hub = new FakeHub();
    const behavior = new TailSocket(hub.asHub(), options).behavior();
    const data = { subscription: { topic: null, filter: null, search: null, afterSeq: 7 }, subscriber: null as Subscriber | null };
    const { ws, sent, ended } = fakeWebSocket(data, [1, 0, 2]);
    behavior.open!(ws);
    assert.equal(hub.opened.length, 1);
    assert.equal(hub.opened[0]!.subscription, data.subscription);
    assert.ok(data.subscriber, 'the subscriber is kept on the socket');
    const connection = hub.opened[0]!.connection;
    assert.deepEqual([connection.send('a'), connection.send('b'), connection.send('c')], [true, true, false]);
    assert.deepEqual(sent, ['a', 'b', 'c']);
    assert.equal(connection.bufferedBytes(), 4096);
    connection.end(4008, 'too slow');
    assert.deepEqual(ended, [[4008, 'too slow']]);
  });

  test('drain resumes and close ends the subscriber of that socket; before open there is none to touch', () => {
    const hub = new FakeHub();
    const behavior = new TailSocket(hub.asHub(), options).behavior();
    const unopened = fakeWebSocket({ subscription: { topic: null, filter: null, afterSeq: 0 }, subscriber: null });
    behavior.drain!(unopened.ws);
    behavior.close!(unopened.ws, 1000, new ArrayBuffer(0));
    assert.deepEqual([hub.resumed, hub.closed], [[], []]);

    const data = { subscription: { topic: null, filter: null, afterSeq: 0 }, subscriber: null as Subscriber | null };
    const { ws } = fakeWebSocket(data);
    behavior.open!(ws);
    behavior.drain!(ws);
    behavior.close!(ws, 1000, new ArrayBuffer(0));
    assert.deepEqual(hub.resumed, [data.subscriber]);
    assert.deepEqual(hub.closed, [data.subscriber]);
  });
});
