import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { AggregatorClient, backoffDelay, kBackoffBaseMs, kBackoffCapMs, parseRetryAfter, type RetryNotice } from '../../../src/publisher/client.js';
import { encodeBody } from '../../../src/publisher/encode.js';
import { PublisherError } from '../../../src/publisher/errors.js';
import { generateStream } from '../../../src/publisher/generate.js';

describe('backoff', () => {
  test('full jitter below min(cap, base * 2^attempt)', () => {
    assert.equal(backoffDelay(0, null, () => 0), 0);
    assert.ok(backoffDelay(0, null, () => 0.999999) < kBackoffBaseMs);
    assert.ok(backoffDelay(3, null, () => 0.999999) < kBackoffBaseMs * 8);
    for (const attempt of [7, 10, 30, 1000]) {
      const delay = backoffDelay(attempt, null, () => 0.999999);
      assert.ok(delay < kBackoffCapMs && delay >= kBackoffCapMs - 1, `attempt ${attempt}: capped, got ${delay}`);
    }
    assert.equal(backoffDelay(4, null, () => 0.5), (kBackoffBaseMs * 16) / 2);
  });

  test('Retry-After is a floor, with the jitter on top', () => {
    for (const random of [0, 0.3, 0.999999]) {
      for (const attempt of [0, 5, 50]) {
        const delay = backoffDelay(attempt, 2000, () => random);
        assert.ok(delay >= 2000, `waits at least Retry-After, got ${delay}`);
        assert.ok(delay < 2000 + kBackoffCapMs, `jitter on top stays under the cap, got ${delay}`);
      }
    }
    // A Retry-After above the cap still wins: the server knows when it can take more.
    assert.ok(backoffDelay(0, 60_000, () => 0) >= 60_000);
  });

  test('Retry-After parsing: seconds, an HTTP date, or nothing', () => {
    assert.equal(parseRetryAfter('2'), 2000);
    assert.equal(parseRetryAfter(' 0 '), 0);
    assert.equal(parseRetryAfter(undefined), null);
    assert.equal(parseRetryAfter('soon'), null);
    const now = Date.UTC(2025, 0, 1, 0, 0, 0);
    assert.equal(parseRetryAfter(new Date(now + 3000).toUTCString(), now), 3000);
    assert.equal(parseRetryAfter(new Date(now - 3000).toUTCString(), now), 0);
  });
});

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
