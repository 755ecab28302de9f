/**
 * The Elasticsearch-compatible API under /es, driven by the official JS client (@elastic/elasticsearch
 * 8.19, whose product check refuses any 2xx without `x-elastic-product`), and by raw bulk bodies for
 * what the client does not send.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@elastic/elasticsearch';
import { allEvents, getJson, startServer, type TestServer } from './helper.js';

async function rawBulk(server: TestServer, body: string, path = '/es/_bulk'): Promise<{ status: number; headers: Headers; json: any }> {
  const answer = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
  return { status: answer.status, headers: answer.headers, json: await answer.json() };
}

const ndjson = (...lines: unknown[]): string => `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`;

describe('Elasticsearch _bulk', () => {
  let server: TestServer;
  let client: Client;
  before(async () => {
    server = await startServer();
    client = new Client({ node: `${server.url}/es` });
  });
  after(async () => {
    await client.close();
    await server.stop();
  });

  test('the client connects: info, cluster health, the product header on every answer', async () => {
    const info = await client.info();
    assert.equal(info.tagline, 'You Know, for Search');
    assert.match(info.version.number, /^8\./);
    assert.equal((await client.cluster.health()).status, 'green');
    const refused = await rawBulk(server, 'not json\n');
    assert.equal(refused.status, 400);
    assert.equal(refused.headers.get('x-elastic-product'), 'Elasticsearch', 'errors carry it too');
    assert.equal(refused.json.error.code, 'bad_json');
    assert.equal((await fetch(`${server.url}/es/_cat/health`, { method: 'HEAD' })).status, 200);
  });

  test('GET _cat/health answers as Elasticsearch: a line of text, a header with ?v, JSON with ?format=json (the client cat.health)', async () => {
    const columns = ['epoch', 'timestamp', 'cluster', 'status', 'node.total', 'node.data', 'shards', 'pri', 'relo', 'init', 'unassign', 'pending_tasks', 'max_task_wait_time', 'active_shards_percent'];
    const text = await fetch(`${server.url}/es/_cat/health`);
    assert.equal(text.status, 200);
    assert.match(text.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(text.headers.get('x-elastic-product'), 'Elasticsearch');
    const line = await text.text();
    assert.match(line, /^\d{10} \d\d:\d\d:\d\d \S+ green +1 +1 +2 +2 +0 +0 +0 +0 +- +100\.0%\n$/);
    const headed = (await (await fetch(`${server.url}/es/_cat/health?v`)).text()).split('\n');
    assert.deepEqual(headed[0]!.split(/ +/), columns);
    assert.equal(headed.length, 3, 'the header, the row and the final newline');
    assert.equal(await (await fetch(`${server.url}/es/_cat/health?h=status,shards`)).text(), 'green 2\n');
    const rows = await client.cat.health({ format: 'json' });
    assert.equal(rows.length, 1);
    assert.deepEqual(Object.keys(rows[0]!), columns);
    assert.equal(rows[0]!.status, 'green');
    assert.equal(rows[0]!['active_shards_percent'], '100.0%');
    assert.ok(Object.values(rows[0]!).every((value) => typeof value === 'string'), 'every value a string, as Elasticsearch sends them');
    assert.match(String(await client.cat.health()), /green/, 'the client without format: the text line');
  });

  test('helpers.bulk with create and ids: all created, then every resend a 409 the client drops; /stats exact', async () => {
    const before = (await getJson(`${server.url}/stats`)).body;
    const documents = Array.from({ length: 200 }, (_, index) => ({ id: `h-${index}`, '@timestamp': '2025-10-22T10:30:00Z', message: `line ${index}`, host: { name: 'web-1' } }));
    const run = async (): Promise<{ successful: number; failed: number; dropped: number[] }> => {
      const dropped: number[] = [];
      const result = await client.helpers.bulk({
        datasource: documents,
        onDocument: (document) => ({ create: { _index: 'helpers.bulk', _id: document.id } }),
        onDrop: (item) => dropped.push(item.status),
      });
      return { successful: result.successful, failed: result.failed, dropped };
    };
    const first = await run();
    assert.deepEqual([first.successful, first.failed, first.dropped.length], [200, 0, 0]);
    const second = await run();
    assert.deepEqual([second.successful, second.failed], [0, 200]);
    assert.ok(second.dropped.every((status) => status === 409));
    const after = (await getJson(`${server.url}/stats`)).body;
    assert.equal(after.received - before.received, 400);
    assert.equal(after.unique_processed - before.unique_processed, 200);
    assert.equal(after.duplicate_dropped - before.duplicate_dropped, 200);
    const stored = await allEvents(server.url, 'helpers.bulk');
    assert.equal(stored.length, 200);
    assert.deepEqual(stored[7], { ...stored[7], event_id: 'h-7', timestamp: '2025-10-22T10:30:00Z', source: 'web-1', payload: documents[7] });
  });

  test('index of a stored id succeeds and changes nothing; bad items fail alone; delete and update are refused per item', async () => {
    const first = await rawBulk(server, ndjson({ index: { _index: 'mixed', _id: 'a' } }, { v: 1 }));
    assert.equal(first.json.errors, false);
    assert.equal(first.json.items[0].index.status, 201);
    const answer = await rawBulk(
      server,
      ndjson(
        { index: { _index: 'mixed', _id: 'a' } }, { v: 2 },
        { create: { _index: 'Not A Topic', _id: 'b' } }, { v: 1 },
        { create: { _index: 'mixed', _id: 'c', _type: '_doc' } }, { v: 1 },
        { delete: { _index: 'mixed', _id: 'a' } },
        { update: { _index: 'mixed', _id: 'a' } }, { doc: { v: 3 } },
        { create: { _index: 'mixed', _id: 'd' } }, 'not an object',
      ),
    );
    assert.equal(answer.status, 200);
    assert.equal(answer.json.errors, true);
    const [kept, badIndex, created, deleted, updated, notObject] = answer.json.items;
    assert.deepEqual([kept.index.status, kept.index.result], [200, 'updated']);
    assert.deepEqual([badIndex.create.status, badIndex.create.error.type], [400, 'invalid_index_name_exception']);
    assert.equal(created.create.status, 201, 'the legacy _type is accepted and ignored');
    assert.deepEqual([deleted.delete.status, updated.update.status, notObject.create.status], [400, 400, 400]);
    const stored = await allEvents(server.url, 'mixed');
    assert.deepEqual(stored.map((event) => [event.event_id, event.payload]), [['a', { v: 1 }], ['c', { v: 1 }]], 'the first copy of a wins');
  });

  test('an index in the path with a malformed escape fails its items, not the request', async () => {
    const answer = await rawBulk(server, ndjson({ create: { _id: 'x' } }, { v: 1 }), '/es/bad%E0%A4%A/_bulk');
    assert.equal(answer.status, 200);
    assert.deepEqual([answer.json.items[0].create.status, answer.json.items[0].create.error.type], [400, 'invalid_index_name_exception']);
  });

  test('a document without an id gets one from its index and content: an identical resend is a duplicate', async () => {
    const body = ndjson({ create: {} }, { message: 'no id here', '@timestamp': 1_700_000_000_000 }, { create: {} }, { message: 'another' });
    const first = await rawBulk(server, body, '/es/noid/_bulk');
    assert.deepEqual(first.json.items.map((item: any) => item.create.status), [201, 201]);
    const again = await rawBulk(server, body, '/es/noid/_bulk');
    assert.deepEqual(again.json.items.map((item: any) => item.create.status), [409, 409]);
    assert.equal(again.json.items[0].create._id, first.json.items[0].create._id);
    const stored = await allEvents(server.url, 'noid');
    assert.deepEqual(stored.map((event) => [event.timestamp, event.source]), [['2023-11-14T22:13:20.000Z', 'noid'], [stored[1].timestamp, 'noid']]);
  });
});

describe('Elasticsearch _bulk with a publish token', () => {
  test('needs the publish token like /publish, as Bearer, ApiKey or Basic password', async () => {
    const server = await startServer({ args: ['--publish-token', 'p-secret'] });
    try {
      const refused = await rawBulk(server, ndjson({ create: { _index: 'auth', _id: '1' } }, {}));
      assert.equal(refused.status, 401);
      // The client's own auth options, each carrying the publish token.
      const auths = [{ bearer: 'p-secret' }, { apiKey: 'p-secret' }, { username: 'elastic', password: 'p-secret' }];
      for (const [index, auth] of auths.entries()) {
        const client = new Client({ node: `${server.url}/es`, auth });
        const result = await client.bulk({ operations: [{ create: { _index: 'auth', _id: String(index) } }, { ok: true }] });
        assert.equal(result.errors, false, JSON.stringify(auth));
        await client.close();
      }
      assert.equal((await allEvents(server.url, 'auth')).length, 3);
    } finally {
      await server.stop();
    }
  });
});

describe('--elasticsearch-port', () => {
  test('serves the Elasticsearch API at the root of a second port, for shippers that take no path prefix', async () => {
    const server = await startServer({ args: ['--elasticsearch-port', '0'] });
    try {
      const port = server.listening.elasticsearchPort;
      assert.equal(typeof port, 'number', 'the listening line names the port');
      const root = `http://127.0.0.1:${port as number}`;
      const client = new Client({ node: root });
      assert.equal((await client.info()).tagline, 'You Know, for Search');
      const result = await client.bulk({ operations: [{ create: { _index: 'rooted', _id: '1' } }, { message: 'at the root' }] });
      assert.equal(result.errors, false);
      await client.close();
      const probe = await fetch(`${root}/_cat/health`);
      assert.equal(probe.status, 200, 'GET _cat/health at the root too: rsyslog probes it after an outage');
      assert.match(await probe.text(), / green /);
      assert.equal(((await (await fetch(`${root}/_cat/health?format=json`)).json()) as { status: string }[])[0]!.status, 'green');
      const ping = await fetch(root, { method: 'HEAD' });
      assert.equal(ping.headers.get('x-elastic-product'), 'Elasticsearch');
      // Only the Elasticsearch API lives there; the rest of the service is on its own port.
      assert.equal((await fetch(`${root}/publish`, { method: 'POST', body: '{}' })).status, 404);
      assert.equal((await fetch(`${root}/stats`)).status, 404);
      const stored = await allEvents(server.url, 'rooted');
      assert.deepEqual(stored.map((event) => event.payload), [{ message: 'at the root' }]);
    } finally {
      await server.stop();
    }
  });
});
