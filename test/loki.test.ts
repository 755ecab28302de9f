/**
 * Loki push at /loki/api/v1/push: JSON from two real Loki clients (pino-loki 3, the pino transport,
 * and winston-loki 6, the winston transport), with the labels they send by default and as their
 * READMEs set them, and the snappy-compressed protobuf that Promtail, Alloy and the Loki clients send by default,
 * built here byte by byte from Loki's push.proto and compressed by snappyjs.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { pinoLoki } from 'pino-loki';
import { compress } from 'snappyjs';
import winston from 'winston';
import LokiTransport from 'winston-loki';
import { allEvents, startServer, stats, type TestServer } from './helper.js';

const kFixedTime = 1_761_129_000_000;

async function shipWithPinoLoki(url: string, labels: Record<string, string> | undefined, messages: readonly string[], password?: string): Promise<void> {
  const stream = pinoLoki({ host: url, batching: { interval: 60 }, ...(labels ? { labels } : {}), timeout: 10_000, ...(password ? { basicAuth: { username: 'shipper', password } } : {}) });
  const logger = pino({ base: { hostname: 'web-1' }, timestamp: () => `,"time":${kFixedTime}` }, stream);
  for (const message of messages) logger.info({ order: message.length }, message);
  stream.end();
  await once(stream, 'close');
}

/** winston-loki as its README sets it up (labels optional: without them it sends only `level`). */
async function shipWithWinstonLoki(url: string, labels: Record<string, string> | undefined, messages: readonly string[], password: string): Promise<void> {
  const failures: Error[] = [];
  const transport = new LokiTransport({ host: url, basicAuth: `shipper:${password}`, json: true, interval: 0.05, ...(labels ? { labels } : {}), onConnectionError: (error: Error) => failures.push(error) });
  const logger = winston.createLogger({ transports: [transport] });
  for (const message of messages) logger.info(message);
  await transport.flush();
  await transport.close();
  assert.deepEqual(failures, [], 'winston-loki reported no connection error');
}

// Loki's push.proto, by hand: PushRequest{1: StreamAdapter{1: labels, 2: EntryAdapter{1: Timestamp{1: s, 2: ns}, 2: line}}}.
function varint(value: number): number[] {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  return [...bytes, rest];
}
const field = (number: number, bytes: Uint8Array | number[]): number[] => [...varint(number * 8 + 2), ...varint(bytes.length), ...bytes];
const text = (value: string): number[] => [...Buffer.from(value)];

function pushRequest(streams: readonly { labels: string; entries: readonly [seconds: number, nanos: number, line: string][] }[]): Buffer {
  const bytes = streams.flatMap((stream) =>
    field(1, [
      ...field(1, text(stream.labels)),
      ...stream.entries.flatMap(([seconds, nanos, line]) => field(2, [...field(1, [8, ...varint(seconds), 16, ...varint(nanos)]), ...field(2, text(line))])),
    ]),
  );
  return Buffer.from(bytes);
}

const push = (server: TestServer, body: Uint8Array | string, contentType: string, headers: Record<string, string> = {}) =>
  fetch(`${server.url}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': contentType, ...headers }, body });

describe('Loki push', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ args: ['--publish-token', 'ship-secret'] });
  });
  after(async () => {
    await server.stop();
  });

  test('pino-loki (JSON, Basic auth with the token as password): every line once, a resend stores nothing new', async () => {
    const messages = Array.from({ length: 40 }, (_, index) => `checkout step ${index}`);
    const before = await stats(server.url);
    await shipWithPinoLoki(server.url, { job: 'checkout' }, messages, 'ship-secret');
    await shipWithPinoLoki(server.url, { job: 'checkout' }, messages, 'ship-secret');
    const after = await stats(server.url);
    assert.equal(after.unique_processed - before.unique_processed, 40);
    assert.equal(after.duplicate_dropped - before.duplicate_dropped, 40);
    assert.equal(after.protocols.loki.received - before.protocols.loki.received, 80);
    const stored = await allEvents(server.url, 'checkout');
    assert.equal(stored.length, 40);
    const first = stored[0];
    assert.equal(first.source, 'web-1', 'the hostname label');
    assert.equal(first.timestamp, '2025-10-22T10:30:00.000000000Z');
    assert.equal(JSON.parse(first.payload.line).msg, 'checkout step 0');
    assert.deepEqual(first.payload.labels, { level: 'info', hostname: 'web-1', job: 'checkout' });
    assert.match(first.event_id, /^h-/);
  });

  test("each client's service gets its own topic, as Loki 3 names it: pino-loki and winston-loki with their default and README labels", async () => {
    const lines = (prefix: string) => Array.from({ length: 7 }, (_, index) => `${prefix} line ${index}`);
    const before = await stats(server.url);
    // pino-loki's README sets `application`, winston-loki's sets `app`; a service_name wins over both.
    await shipWithPinoLoki(server.url, { application: 'orders' }, lines('orders'), 'ship-secret');
    await shipWithPinoLoki(server.url, { service_name: 'billing', app: 'not-this', job: 'nor-this' }, lines('billing'), 'ship-secret');
    await shipWithWinstonLoki(server.url, { app: 'payments' }, lines('payments'), 'ship-secret');
    // Without labels neither client names a service (pino-loki sends level and hostname, winston-loki level).
    await shipWithPinoLoki(server.url, undefined, lines('pino anonymous'), 'ship-secret');
    await shipWithWinstonLoki(server.url, undefined, lines('winston anonymous'), 'ship-secret');
    const after = await stats(server.url);
    assert.equal(after.unique_processed - before.unique_processed, 35);
    for (const [topic, prefix] of [['orders', 'orders'], ['billing', 'billing'], ['payments', 'payments']] as const) {
      const stored = await allEvents(server.url, topic);
      assert.equal(stored.length, 7, topic);
      assert.ok(stored.every((item) => String(item.payload.line).includes(prefix)), `${topic} holds only its own lines`);
    }
    const unknown = await allEvents(server.url, 'unknown_service');
    assert.deepEqual(unknown.map((item) => String(item.payload.line).includes('pino anonymous') ? 'pino' : 'winston').sort(), [...Array(7).fill('pino'), ...Array(7).fill('winston')]);
    assert.equal((await allEvents(server.url, 'loki')).length, 0, 'nothing lands in one catch-all topic');
  });

  test('without the token: 401, nothing stored', async () => {
    const answer = await push(server, JSON.stringify({ streams: [{ stream: { job: 'x' }, values: [['1', 'a']] }] }), 'application/json');
    assert.equal(answer.status, 401);
  });

  test('snappy protobuf, as Promtail and Alloy send it: 204, entries stored once, the same labels in any order dedup', async () => {
    const auth = { authorization: 'Bearer ship-secret' };
    const request = pushRequest([
      { labels: '{job="proto", host="db-2"}', entries: [[1_761_129_000, 5, 'first line'], [1_761_129_001, 0, 'second "quoted" line']] },
      { labels: '{job="proto", level="warn"}', entries: [[1_761_129_002, 0, 'third line']] },
    ]);
    const first = await push(server, compress(request), 'application/x-protobuf', auth);
    assert.equal(first.status, 204);
    assert.equal((await first.arrayBuffer()).byteLength, 0);
    const reordered = pushRequest([{ labels: '{host="db-2",job="proto"}', entries: [[1_761_129_000, 5, 'first line']] }]);
    assert.equal((await push(server, compress(reordered), 'application/x-protobuf', auth)).status, 204);
    const stored = await allEvents(server.url, 'proto');
    assert.deepEqual(stored.map((item) => item.payload.line), ['first line', 'second "quoted" line', 'third line']);
    assert.equal(stored[0].timestamp, '2025-10-22T10:30:00.000000005Z');
    assert.equal(stored[0].source, 'db-2');
    assert.equal(stored[2].source, 'loki', 'no host label');
  });

  test('bodies a Loki client never sends: each a clear 4xx, nothing stored, the server healthy', async () => {
    const auth = { authorization: 'Bearer ship-secret' };
    const before = await stats(server.url);
    // A snappy block whose header claims 1 GiB: refused before anything is allocated.
    const bomb = Buffer.from([...varint(2 ** 30), 0x00]);
    const cases: [Promise<Response>, number, string][] = [
      [push(server, bomb, 'application/x-protobuf', auth), 413, 'too_large'],
      [push(server, Buffer.from('not snappy at all'), 'application/x-protobuf', auth), 400, 'bad_encoding'],
      [push(server, compress(Buffer.from([0x0a, 0x50, 0x01])), 'application/x-protobuf', auth), 400, 'bad_json'],
      [push(server, compress(pushRequest([{ labels: 'job=nobraces', entries: [[1, 0, 'x']] }])), 'application/x-protobuf', auth), 400, 'bad_json'],
      [push(server, '{"streams": {}}', 'application/json', auth), 400, 'bad_json'],
      [push(server, JSON.stringify({ streams: [{ stream: { job: 'x' }, values: [[1, 'not a string timestamp']] }] }), 'application/json', auth), 400, 'bad_json'],
      [push(server, JSON.stringify({ streams: [{ stream: { job: 'x' }, values: [['1', 'x'.repeat(70_000)]] }] }), 'application/json', auth), 422, 'invalid_event'],
    ];
    for (const [answer, status, code] of cases) {
      const reply = await answer;
      assert.equal(reply.status, status, code);
      assert.equal(((await reply.json()) as { error: { code: string } }).error.code, code);
    }
    assert.equal((await push(server, '{"streams":[]}', 'application/json', auth)).status, 204, 'an empty push');
    assert.equal((await stats(server.url)).received, before.received);
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
  });
});
