import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { pack } from 'msgpackr';
import { allEvents, event, publish, startServer, stats, type TestServer } from './helper.js';

describe('POST /publish', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ shards: 2 });
  });

  test('a single event is stored and acknowledged as unique', async () => {
    const reply = await publish(server.url, event({ topic: 'single', event_id: 'a' }));
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body, { accepted: 1, unique: 1, duplicates: 0 });
    const [stored] = await allEvents(server.url, 'single');
    assert.equal(stored.event_id, 'a');
    assert.deepEqual(stored.payload, { user_id: 123 });
    assert.equal(typeof stored.seq, 'number');
    assert.match(stored.received_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  test('a repeated event is a duplicate and stored once', async () => {
    const first = await publish(server.url, event({ topic: 'repeat', event_id: 'x' }));
    const second = await publish(server.url, event({ topic: 'repeat', event_id: 'x', payload: { changed: true } }));
    assert.deepEqual(first.body, { accepted: 1, unique: 1, duplicates: 0 });
    assert.deepEqual(second.body, { accepted: 1, unique: 0, duplicates: 1 });
    const stored = await allEvents(server.url, 'repeat');
    assert.equal(stored.length, 1);
    assert.deepEqual(stored[0].payload, { user_id: 123 }, 'the first write wins');
  });

  test('repeats inside one batch are duplicates of the first', async () => {
    const batch = [event({ topic: 'inbatch', event_id: '1' }), event({ topic: 'inbatch', event_id: '2' }), event({ topic: 'inbatch', event_id: '1' })];
    const reply = await publish(server.url, batch, { query: '?results=1' });
    assert.equal(reply.status, 200);
    assert.equal(reply.body.accepted, 3);
    assert.equal(reply.body.unique, 2);
    assert.equal(reply.body.duplicates, 1);
    assert.deepEqual(
      reply.body.results.map((result: { status: string }) => result.status),
      ['stored', 'stored', 'duplicate'],
    );
    assert.equal((await allEvents(server.url, 'inbatch')).length, 2);
  });

  test('the same event_id under two topics is two events', async () => {
    const reply = await publish(server.url, [event({ topic: 'pair.a', event_id: 'same' }), event({ topic: 'pair.b', event_id: 'same' })]);
    assert.deepEqual(reply.body, { accepted: 2, unique: 2, duplicates: 0 });
  });

  test('NDJSON and msgpack bodies are accepted', async () => {
    const lines = [event({ topic: 'formats', event_id: 'n1' }), event({ topic: 'formats', event_id: 'n2' })].map((item) => JSON.stringify(item)).join('\n');
    const ndjson = await publish(server.url, `${lines}\n`, { contentType: 'application/x-ndjson' });
    assert.deepEqual(ndjson.body, { accepted: 2, unique: 2, duplicates: 0 });
    const msgpack = await publish(server.url, pack([event({ topic: 'formats', event_id: 'm1' }), event({ topic: 'formats', event_id: 'n1' })]), {
      contentType: 'application/msgpack',
    });
    assert.deepEqual(msgpack.body, { accepted: 2, unique: 1, duplicates: 1 });
    const single = await publish(server.url, pack(event({ topic: 'formats', event_id: 'm2' })), { contentType: 'application/msgpack' });
    assert.deepEqual(single.body, { accepted: 1, unique: 1, duplicates: 0 });
  });

  test('?results=1 reports each event in request order', async () => {
    await publish(server.url, event({ topic: 'results', event_id: 'old' }));
    const reply = await publish(server.url, [event({ topic: 'results', event_id: 'new' }), event({ topic: 'results', event_id: 'old' })], { query: '?results=1' });
    assert.deepEqual(reply.body.results, [
      { topic: 'results', event_id: 'new', status: 'stored' },
      { topic: 'results', event_id: 'old', status: 'duplicate' },
    ]);
  });

  test('an unsupported Content-Type is 415 and stores nothing', async () => {
    const before = await stats(server.url);
    const reply = await publish(server.url, JSON.stringify(event({ topic: 'media' })), { contentType: 'text/plain' });
    assert.equal(reply.status, 415);
    assert.equal(reply.body.error.code, 'unsupported_media_type');
    assert.equal((await stats(server.url)).received, before.received);
  });

  test('an unparseable body is 400 bad_json', async () => {
    for (const [body, contentType] of [
      ['{"topic": ', 'application/json'],
      ['', 'application/json'],
      ['{"a":1}\nnot json', 'application/x-ndjson'],
      [Buffer.from([0x92, 0x01]), 'application/msgpack'],
      [Buffer.from([0x22, 0xff, 0xfe, 0x22]), 'application/json'],
    ] as const) {
      const reply = await publish(server.url, body, { contentType });
      assert.equal(reply.status, 400, `${contentType} ${String(body)}`);
      assert.equal(reply.body.error.code, 'bad_json');
    }
  });

  test('a body over the size limit is 413 and readable by the client', async () => {
    const small = await startServer({ shards: 1, args: ['--max-body-bytes', '1024'] });
    const big = JSON.stringify(event({ payload: { blob: 'x'.repeat(200_000) } }));
    const reply = await publish(small.url, big);
    assert.equal(reply.status, 413);
    assert.equal(reply.body.error.code, 'too_large');
    assert.equal((await stats(small.url)).received, 0);
    await small.stop();
  });

  test('more than MAX_BATCH events is 413', async () => {
    const limited = await startServer({ shards: 1, args: ['--max-batch', '3'] });
    const reply = await publish(limited.url, [1, 2, 3, 4].map((index) => event({ event_id: `b${index}` })));
    assert.equal(reply.status, 413);
    assert.equal(reply.body.error.code, 'too_large');
    await limited.stop();
  });

  test('one bad event rejects the whole batch with 422 and per-event details', async () => {
    const before = await stats(server.url);
    const batch = [event({ topic: 'atomic', event_id: 'ok-1' }), event({ topic: 'atomic', event_id: 'ok-2' }), event({ topic: 'atomic', event_id: 'bad', timestamp: 'yesterday' })];
    const reply = await publish(server.url, batch);
    assert.equal(reply.status, 422);
    assert.equal(reply.body.error.code, 'invalid_event');
    assert.deepEqual(
      reply.body.error.details.map((detail: { index: number; path: string }) => [detail.index, detail.path]),
      [[2, '/timestamp']],
    );
    const after = await stats(server.url);
    assert.equal(after.received, before.received);
    assert.equal(after.rejected, before.rejected + 3);
    assert.equal((await allEvents(server.url, 'atomic')).length, 0);
  });

  test('an empty batch is 422', async () => {
    const reply = await publish(server.url, []);
    assert.equal(reply.status, 422);
    assert.equal(reply.body.error.code, 'invalid_event');
  });

  test('every field rule is enforced', async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['missing topic', { topic: undefined }, '/topic'],
      ['empty topic', { topic: '' }, '/topic'],
      ['topic too long', { topic: 'a'.repeat(129) }, '/topic'],
      ['topic with a slash', { topic: '../etc' }, '/topic'],
      ['topic starting with a dot', { topic: '.hidden' }, '/topic'],
      ['topic not a string', { topic: 42 }, '/topic'],
      ['empty event_id', { event_id: '' }, '/event_id'],
      ['event_id too long', { event_id: 'e'.repeat(129) }, '/event_id'],
      ['event_id with a control character', { event_id: 'a\u0000b' }, '/event_id'],
      ['event_id with a newline', { event_id: 'a\nb' }, '/event_id'],
      ['timestamp without a zone', { timestamp: '2025-10-22T10:30:00' }, '/timestamp'],
      ['timestamp with a bad month', { timestamp: '2025-13-22T10:30:00Z' }, '/timestamp'],
      ['timestamp on 30 February', { timestamp: '2024-02-30T10:30:00Z' }, '/timestamp'],
      ['timestamp as a number', { timestamp: 1761129000 }, '/timestamp'],
      ['empty source', { source: '' }, '/source'],
      ['source too long', { source: 's'.repeat(129) }, '/source'],
      ['payload an array', { payload: [] }, '/payload'],
      ['payload null', { payload: null }, '/payload'],
      ['payload a string', { payload: 'text' }, '/payload'],
      ['unknown field', { severity: 'high' }, '/severity'],
    ];
    for (const [name, overrides, path] of cases) {
      const candidate: Record<string, unknown> = { ...event({ topic: 'rules', event_id: name.replaceAll(' ', '-') }), ...overrides };
      for (const key of Object.keys(candidate)) if (candidate[key] === undefined) delete candidate[key];
      const reply = await publish(server.url, candidate);
      assert.equal(reply.status, 422, name);
      assert.equal(reply.body.error.details[0].path, path, name);
      assert.equal(reply.body.error.details[0].index, 0, name);
    }
    assert.equal((await allEvents(server.url, 'rules')).length, 0);
  });

  test('valid edge values are accepted', async () => {
    const reply = await publish(server.url, [
      event({ topic: 'edge', event_id: 'e'.repeat(128), timestamp: '2016-12-31T23:59:60Z' }),
      event({ topic: 'edge', event_id: 'offset', timestamp: '2025-10-22T12:30:00.123456+02:00' }),
      event({ topic: 'edge', event_id: 'empty-payload', payload: {} }),
      event({ topic: 'edge', event_id: 'unicode-ü-✓', source: 's'.repeat(128) }),
    ]);
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal(reply.body.unique, 4);
  });

  test('an event over the size limit is 422', async () => {
    const reply = await publish(server.url, event({ topic: 'huge', payload: { blob: 'x'.repeat(70_000) } }));
    assert.equal(reply.status, 422);
    assert.equal(reply.body.error.details[0].index, 0);
  });

  test('a payload nested too deep is 422, not a crash', async () => {
    const depth = 10_000;
    const deep = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const body = `{"topic":"deep","event_id":"d","timestamp":"2025-10-22T10:30:00Z","source":"s","payload":${deep}}`;
    const reply = await publish(server.url, body);
    assert.equal(reply.status, 422);
    assert.match(reply.body.error.details[0].path, /^\/payload/);
    assert.equal((await getHealth(server.url)).status, 200);
  });

  test('unknown routes are 404 and wrong methods 405', async () => {
    assert.equal((await fetch(`${server.url}/nope`)).status, 404);
    const wrongMethod = await fetch(`${server.url}/publish`);
    assert.equal(wrongMethod.status, 405);
    assert.equal(((await wrongMethod.json()) as { error: { code: string } }).error.code, 'method_not_allowed');
  });
});

async function getHealth(url: string): Promise<Response> {
  return fetch(`${url}/health`);
}
