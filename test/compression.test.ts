/**
 * Compressed bodies on every ingest route: gzip and deflate inflate on the thread pool, the body
 * limit holds for the inflated bytes while they inflate, and every broken or unsupported encoding is
 * a clear 4xx that stores nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { Client } from '@elastic/elasticsearch';
import { allEvents, event, getJson, startServer, type TestServer } from './helper.js';

async function post(server: TestServer, body: Buffer, encoding: string, path = '/publish'): Promise<{ status: number; json: any }> {
  const answer = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': encoding }, body });
  return { status: answer.status, json: await answer.json() };
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

describe('compressed bodies', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ args: ['--max-body-bytes', String(1 << 20)] });
  });
  after(() => server.stop());

  test('gzip, zlib deflate and raw deflate bodies are stored like plain ones', async () => {
    const cases: [string, (bytes: Buffer) => Buffer][] = [['gzip', gzipSync], ['x-gzip', gzipSync], ['deflate', deflateSync], ['Deflate', deflateRawSync]];
    for (const [index, [encoding, compress]] of cases.entries()) {
      const answer = await post(server, compress(json([event({ topic: 'zipped', event_id: `z${index}` }), event({ topic: 'zipped', event_id: `z${index}b` })])), encoding);
      assert.equal(answer.status, 200, `${encoding}: ${JSON.stringify(answer.json)}`);
      assert.equal(answer.json.unique, 2);
    }
    assert.equal((await allEvents(server.url, 'zipped')).length, 8);
  });

  test('a gzip bomb stops at the body limit with a 413; nothing is stored and the server stays healthy', async () => {
    const before = (await getJson(`${server.url}/stats`)).body;
    // 64 MiB of spaces around one event compress to about 64 KiB: far under the wire limit, far over the inflated one.
    const bomb = gzipSync(Buffer.concat([Buffer.from('['), json(event({ topic: 'bomb' })), Buffer.alloc(64 << 20, 0x20), Buffer.from(']')]));
    assert.ok(bomb.length < 1 << 20);
    const answer = await post(server, bomb, 'gzip');
    assert.equal(answer.status, 413);
    assert.equal(answer.json.error.code, 'too_large');
    const after = (await getJson(`${server.url}/stats`)).body;
    assert.equal(after.received, before.received);
    assert.equal((await getJson(`${server.url}/health`)).status, 200);
  });

  test('truncated streams, bodies that lie about their encoding, and unknown encodings are refused; nothing is stored', async () => {
    const good = gzipSync(json(event({ topic: 'refused', event_id: 'r1' })));
    const truncated = await post(server, good.subarray(0, good.length - 8), 'gzip');
    assert.deepEqual([truncated.status, truncated.json.error.code], [400, 'bad_encoding']);
    const lying = await post(server, json(event({ topic: 'refused', event_id: 'r2' })), 'gzip');
    assert.deepEqual([lying.status, lying.json.error.code], [400, 'bad_encoding']);
    const notDeflate = await post(server, json(event({ topic: 'refused', event_id: 'r3' })), 'deflate');
    assert.deepEqual([notDeflate.status, notDeflate.json.error.code], [400, 'bad_encoding']);
    for (const encoding of ['br', 'zstd', 'gzip, gzip']) {
      const unknown = await post(server, good, encoding);
      assert.deepEqual([unknown.status, unknown.json.error.code], [415, 'unsupported_media_type'], encoding);
    }
    assert.equal((await allEvents(server.url, 'refused')).length, 0);
  });

  test('the Elasticsearch client with compression on: its gzip bulk is stored once', async () => {
    const client = new Client({ node: `${server.url}/es`, compression: true });
    try {
      const operations = Array.from({ length: 50 }, (_, index) => [{ create: { _index: 'es.gzip', _id: `g${index}` } }, { message: `line ${index}` }]).flat();
      assert.equal((await client.bulk({ operations })).errors, false);
      const again = await client.bulk({ operations });
      assert.ok(again.items.every((item) => item.create?.status === 409));
    } finally {
      await client.close();
    }
    assert.equal((await allEvents(server.url, 'es.gzip')).length, 50);
  });
});
