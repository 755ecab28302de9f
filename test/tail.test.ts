import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import WebSocket from 'ws';
import { allEvents, event, getJson, publish, readRssKiB, startServer, waitFor, type TestServer } from './helper.js';

interface TailMessage {
  events: { seq: number; event_id: string; topic: string }[];
  next: string;
}

/** A /tail subscriber that records every message. */
async function subscribe(server: TestServer, query: string, headers: Record<string, string> = {}) {
  const socket = new WebSocket(`ws://127.0.0.1:${server.port}/tail${query}`, { headers });
  const messages: TailMessage[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data)) as TailMessage));
  const closed = once(socket, 'close') as Promise<[number, Buffer]>;
  await once(socket, 'open');
  return { socket, messages, closed, events: () => messages.flatMap((message) => message.events) };
}

async function publishMany(server: TestServer, prefix: string, batches: number, size: number, topic = 'tail.a', padBytes = 200): Promise<void> {
  for (let batch = 0; batch < batches; batch++) {
    const events = Array.from({ length: size }, (_, index) => event({ topic, event_id: `${prefix}-${batch}-${index}`, payload: { pad: 'x'.repeat(padBytes) } }));
    assert.equal((await publish(server.url, events)).status, 200);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The HTTP status of a refused upgrade. */
async function refusedStatus(url: string): Promise<number> {
  const socket = new WebSocket(url);
  socket.on('error', () => {}); // terminating a socket that never opened reports an error; expected here
  const [, response] = (await once(socket, 'unexpected-response')) as [unknown, { statusCode: number }];
  socket.terminate();
  return response.statusCode;
}

describe('GET /tail', () => {
  test('a subscriber joining mid-stream gets every event after its cursor exactly once, across replay and live', async () => {
    const server = await startServer({ shards: 3, args: ['--tail-page-size', '50'] });
    await publishMany(server, 'before', 5, 40);
    const firstPage = await getJson(`${server.url}/events?limit=70`);
    const tail = await subscribe(server, `?after=${firstPage.body.next}`);
    await Promise.all([publishMany(server, 'live-a', 10, 30), publishMany(server, 'live-b', 10, 30, 'tail.b')]);
    const expected = (await allEvents(server.url)).slice(70);
    await waitFor(async () => tail.events().length >= expected.length, 'the tail to catch up', 20_000);
    assert.deepEqual(tail.events().map((item) => item.seq), expected.map((item) => item.seq));
    for (const message of tail.messages) assert.equal(typeof message.next, 'string');
    tail.socket.close();
  });

  test('without a cursor it starts from now, and a topic filter applies', async () => {
    const server = await startServer({ shards: 2 });
    await publishMany(server, 'old', 2, 10);
    const tail = await subscribe(server, '?topic=tail.b');
    await publishMany(server, 'new-a', 2, 10, 'tail.a');
    await publishMany(server, 'new-b', 2, 10, 'tail.b');
    await waitFor(async () => tail.events().length >= 20, 'the live events', 20_000);
    assert.ok(tail.events().every((item) => item.topic === 'tail.b' && item.event_id.startsWith('new-b')));
    assert.equal(tail.events().length, 20);
    tail.socket.close();
  });

  test('a subscriber that stops reading is cut off with 4008 too_slow, ingest goes on, and its last cursor resumes the stream', async () => {
    const server = await startServer({ shards: 2, args: ['--tail-backlog-bytes', '65536', '--tail-page-size', '100'] });
    const slow = await subscribe(server, '?after=');
    // Stop reading at the TCP level: the server's send buffer fills up behind it.
    (slow.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    // 6 000 events of ~4 KiB: far more than the kernel's socket buffers hold, so the backlog is the server's.
    // Ingest goes on: every one of these publishes is answered 200 (publishMany checks each) while
    // the subscriber still reads nothing; how long they take is the machine's, not asserted.
    await publishMany(server, 'flood', 60, 100, 'tail.a', 4000);
    const rssMiB = readRssKiB(server.pid)! / 1024;
    assert.ok(rssMiB < 800, `server RSS ${rssMiB} MiB with a subscriber that does not read`);
    (slow.socket as unknown as { _socket: { resume(): void } })._socket.resume();
    const [code, reason] = await withTimeout(slow.closed, 30_000, 'the slow subscriber to be closed');
    assert.equal(code, 4008);
    assert.equal(String(reason), 'too_slow');
    const received = slow.events();
    assert.ok(received.length < 6000, 'it was cut off before the end');
    assert.equal((await getJson(`${server.url}/health`)).status, 200);

    const lastCursor = slow.messages.at(-1)?.next ?? '';
    const resumed = await subscribe(server, `?after=${lastCursor}`);
    // 24 MB through one WebSocket: on a loaded 2-core machine that took over 30 s once.
    await waitFor(async () => received.length + resumed.events().length >= 6000, 'the resumed stream to complete', 90_000);
    const all = [...received, ...resumed.events()].map((item) => item.seq);
    assert.deepEqual(all, (await allEvents(server.url)).map((item) => item.seq), 'no gap and no repeat across the reconnect');
    resumed.socket.close();
  });

  test('the read token applies, as a header or ?access_token=', async () => {
    const server = await startServer({ shards: 1, args: ['--read-token', 'r'] });
    assert.equal(await refusedStatus(`ws://127.0.0.1:${server.port}/tail`), 401);
    assert.equal(await refusedStatus(`ws://127.0.0.1:${server.port}/tail?access_token=wrong`), 401);
    const byHeader = await subscribe(server, '', { authorization: 'Bearer r' });
    const byQuery = await subscribe(server, '?access_token=r');
    byHeader.socket.close();
    byQuery.socket.close();
  });

  test('a bad cursor is refused before the upgrade', async () => {
    const server = await startServer({ shards: 1 });
    assert.equal(await refusedStatus(`ws://127.0.0.1:${server.port}/tail?after=nonsense`), 400);
  });
});
