import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StoredEvent } from '../../../../src/dashboard/client/api-types.js';
import { TailStream, type TailSocketHandlers, type TailState } from '../../../../src/dashboard/client/tail-stream.js';

/** A stand-in for the browser's WebSocket: records each connection and lets the test drive it. */
class FakeSockets {
  readonly opened: { url: string; handlers: TailSocketHandlers; closedWith: number | null }[] = [];

  connect = (url: string, handlers: TailSocketHandlers) => {
    const connection = { url, handlers, closedWith: null as number | null };
    this.opened.push(connection);
    return { close: (code?: number) => void (connection.closedWith = code ?? 1005) };
  };

  get last() {
    return this.opened.at(-1)!;
  }

  send(events: readonly Partial<StoredEvent>[], next: string): void {
    this.last.handlers.onMessage(JSON.stringify({ events, next }));
  }
}

function stream(sockets: FakeSockets, topic: string | null = 'orders', startCursor: string | null = null) {
  const received: string[] = [];
  const states: TailState[] = [];
  const tail = new TailStream({
    topic,
    url: (topic, after) => `/tail?topic=${topic ?? ''}&after=${after ?? ''}`,
    connect: sockets.connect,
    onEvents: (events) => received.push(...events.map((event) => event.event_id)),
    onState: (state) => states.push(state),
    retryDelaysMs: [5],
    startCursor,
  });
  return { tail, received, states };
}

describe('TailStream', () => {
  test('starts from now, remembers the last cursor, and resumes after it when unpaused', () => {
    const sockets = new FakeSockets();
    const { tail, received, states } = stream(sockets);
    tail.start();
    assert.equal(sockets.last.url, '/tail?topic=orders&after=');
    sockets.last.handlers.onOpen();
    sockets.send([{ event_id: 'a' }, { event_id: 'b' }], 'c2');
    assert.equal(tail.cursor, 'c2');
    tail.pause();
    assert.equal(sockets.last.closedWith, 1000, 'pausing closes the socket');
    assert.equal(tail.state, 'paused');
    // The close the browser reports later, and any late message, belong to the old socket.
    sockets.last.handlers.onMessage(JSON.stringify({ events: [{ event_id: 'late' }], next: 'c3' }));
    sockets.last.handlers.onClose(1000, '');
    assert.equal(tail.state, 'paused');
    assert.equal(tail.cursor, 'c2');
    tail.resume();
    assert.equal(sockets.opened.length, 2);
    assert.equal(sockets.last.url, '/tail?topic=orders&after=c2');
    sockets.last.handlers.onOpen();
    sockets.send([{ event_id: 'late' }], 'c3');
    assert.deepEqual(received, ['a', 'b', 'late']);
    assert.deepEqual(states, ['connecting', 'live', 'paused', 'connecting', 'live']);
  });

  test('with the cursor of "now", a pause before the first event still resumes without a gap', () => {
    const sockets = new FakeSockets();
    const { tail, received } = stream(sockets, 'orders', 'now-cursor');
    tail.start();
    assert.equal(sockets.last.url, '/tail?topic=orders&after=now-cursor');
    sockets.last.handlers.onOpen();
    tail.pause();
    tail.resume();
    assert.equal(sockets.last.url, '/tail?topic=orders&after=now-cursor', 'events committed while paused are replayed');
    sockets.last.handlers.onOpen();
    sockets.send([{ event_id: 'while-paused' }], 'c1');
    assert.deepEqual(received, ['while-paused']);
  });

  test('a 4008 too_slow close reconnects at once from the last cursor', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const sockets = new FakeSockets();
    const { tail } = stream(sockets);
    tail.start();
    sockets.last.handlers.onOpen();
    sockets.send([{ event_id: 'a' }], 'c1');
    sockets.last.handlers.onClose(4008, 'too_slow');
    assert.equal(tail.state, 'reconnecting');
    t.mock.timers.tick(0);
    assert.equal(sockets.opened.length, 2, 'reconnected without a delay');
    assert.equal(sockets.last.url, '/tail?topic=orders&after=c1');
  });


  test('any other unexpected close retries after a delay; stop cancels a pending retry', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const sockets = new FakeSockets();
    const { tail } = stream(sockets, null); // retryDelaysMs: [5]
    tail.start();
    sockets.last.handlers.onClose(1006, '');
    assert.equal(tail.state, 'reconnecting');
    t.mock.timers.tick(4);
    assert.equal(sockets.opened.length, 1, 'not before the delay');
    t.mock.timers.tick(1);
    assert.equal(sockets.opened.length, 2, 'retried after the delay');
    assert.equal(sockets.last.url, '/tail?topic=&after=', 'no cursor yet: from now');
    sockets.last.handlers.onClose(1006, '');
    tail.stop();
    t.mock.timers.tick(60_000);
    assert.equal(sockets.opened.length, 2, 'no retry after stop');
    assert.equal(tail.state, 'idle');
  });

});
