import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { AggregatorClient, type RetryNotice } from '../../../src/publisher/client.js';
import { encodeBody } from '../../../src/publisher/encode.js';
import { PublisherError } from '../../../src/publisher/errors.js';
import { generateStream } from '../../../src/publisher/generate.js';

/** A scripted HTTP server: the nth request gets the nth handler (the last one repeats). */
async function scriptedServer(handlers: ((request: IncomingMessage, response: ServerResponse) => void)[]): Promise<{ url: string; server: Server; hits: () => number }> {
  let hits = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => handlers[Math.min(hits++, handlers.length - 1)]!(request, response));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, hits: () => hits };
}

const overloaded = (_: IncomingMessage, response: ServerResponse): void => {
  response.writeHead(503, { 'content-type': 'application/json', 'retry-after': '0' }).end('{"error":{"code":"overloaded","message":"full"}}');
};
const accepted = (count: number) => (_: IncomingMessage, response: ServerResponse): void => {
  response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted: count, unique: count, duplicates: 0 }));
};

describe('retry policy against a scripted server', () => {
  const events = generateStream({ count: 3, duplicateRatio: 0, topics: ['t'], seed: 1, runId: 'x' }).slice(0, 3);
  const body = encodeBody(events, false, 'json');

  test('503s and a dropped connection are retried until the 200', async () => {
    const fake = await scriptedServer([overloaded, (request) => request.socket.destroy(), overloaded, accepted(3)]);
    const client = new AggregatorClient({ url: fake.url, concurrency: 1, maxRetries: 5, timeoutMs: 2000 });
    const notices: RetryNotice[] = [];
    const ack = await client.publish(body, (notice) => notices.push(notice));
    client.close();
    fake.server.close();
    assert.deepEqual({ accepted: ack.accepted, unique: ack.unique, duplicates: ack.duplicates }, { accepted: 3, unique: 3, duplicates: 0 });
    assert.equal(fake.hits(), 4);
    assert.deepEqual(notices.map((notice) => notice.attempt), [0, 1, 2]);
    assert.ok(notices.every((notice) => notice.possiblyStored), 'a 503 or a reset after sending may have committed');
  });

  test('retries run out: the failure names the last reason', async () => {
    const fake = await scriptedServer([overloaded]);
    const client = new AggregatorClient({ url: fake.url, concurrency: 1, maxRetries: 2, timeoutMs: 2000 });
    await assert.rejects(client.publish(body), (error: unknown) => {
      assert.ok(error instanceof PublisherError);
      assert.equal(error.code, 'retries_exhausted');
      assert.match(error.message, /3 attempt\(s\); last: 503 overloaded: full/);
      return true;
    });
    client.close();
    fake.server.close();
    assert.equal(fake.hits(), 3);
  });

  test('a 4xx is final and not retried; a 200 that disagrees with the request is a bad reply', async () => {
    const fake = await scriptedServer([
      (_, response) => response.writeHead(422, { 'content-type': 'application/json' }).end('{"error":{"code":"invalid_event","message":"nope"}}'),
      accepted(2),
    ]);
    const client = new AggregatorClient({ url: fake.url, concurrency: 1, maxRetries: 5, timeoutMs: 2000 });
    await assert.rejects(client.publish(body), { name: 'PublisherError', code: 'refused', message: /422 invalid_event: nope/ });
    assert.equal(fake.hits(), 1);
    await assert.rejects(client.publish(body), { code: 'bad_reply' });
    client.close();
    fake.server.close();
  });

  test('no answer within the timeout counts as a network error', async () => {
    const fake = await scriptedServer([() => {}]);
    const client = new AggregatorClient({ url: fake.url, concurrency: 1, maxRetries: 1, timeoutMs: 150 });
    await assert.rejects(client.publish(body), { code: 'retries_exhausted', message: /no answer within 150 ms/ });
    client.close();
    fake.server.closeAllConnections();
    fake.server.close();
  });
});
