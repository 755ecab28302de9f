import assert from 'node:assert/strict';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { ClientError } from '../../../src/client/errors.js';
import { Transport, type RetryNotice } from '../../../src/client/transport.js';
import { makeCertificates, pem } from '../../../harness/certificates.js';
import { missingCommand } from '../../../harness/tools.js';
import { makeTempDir, waitFor } from '../../helper.js';
import { fakeAggregator, testEvent } from './fake-aggregator.js';

const options = { concurrency: 2, maxRetries: 3, timeoutMs: 5000 };
const body = (events: readonly unknown[]) => ({ bytes: Buffer.from(JSON.stringify(events)), contentType: 'application/json' });

describe('Transport', () => {
  test('gzip: a body at or over the threshold goes compressed (Content-Encoding: gzip), a smaller one as is', async () => {
    const fake = await fakeAggregator();
    const transport = new Transport({ ...options, url: fake.url, gzipMinBytes: 2000 });
    try {
      const big = Array.from({ length: 40 }, (_, index) => testEvent(`big-${index}`));
      const small = [testEvent('small')];
      assert.ok(body(big).bytes.length >= 2000 && body(small).bytes.length < 2000);
      assert.equal((await transport.send('POST', '/publish?results=1', body(big))).status, 200);
      assert.equal((await transport.send('POST', '/publish?results=1', body(small))).status, 200);
      const [compressed, plain] = fake.requests;
      assert.equal(compressed!.headers['content-encoding'], 'gzip');
      assert.equal(compressed!.events.length, 40, 'the server inflated every event');
      assert.ok(compressed!.wireBytes < body(big).bytes.length / 3, `compressed to ${compressed!.wireBytes} of ${body(big).bytes.length} bytes`);
      assert.equal(plain!.headers['content-encoding'], undefined);
      assert.equal(plain!.wireBytes, body(small).bytes.length);
    } finally {
      transport.close();
      await fake.close();
    }
  });

  test('Retry-After is honoured: a 503 saying 1 s is retried no sooner than 1 s later', async () => {
    const fake = await fakeAggregator((_, index) => (index === 0 ? { status: 503, body: { error: { code: 'overloaded', message: 'full' } }, headers: { 'retry-after': '1' } } : null));
    const notices: RetryNotice[] = [];
    const transport = new Transport({ ...options, url: fake.url });
    try {
      const started = performance.now();
      const answer = await transport.send('POST', '/publish', body([testEvent('a')]), (notice) => notices.push(notice));
      const elapsed = performance.now() - started;
      assert.equal(answer.status, 200);
      assert.equal(fake.requests.length, 2);
      assert.ok(elapsed >= 1000, `retried after ${elapsed} ms`);
      assert.equal(notices.length, 1);
      assert.ok(notices[0]!.delayMs >= 1000, 'the wait is at least Retry-After');
      assert.equal(notices[0]!.reason, '503 overloaded: full');
      assert.equal(notices[0]!.possiblyStored, true);
    } finally {
      transport.close();
      await fake.close();
    }
  });

  test('headers go with every request; a final status is returned, not thrown', async () => {
    const fake = await fakeAggregator(() => ({ status: 401, body: { error: { code: 'unauthorized', message: 'no' } } }));
    const transport = new Transport({ ...options, url: fake.url, headers: { authorization: 'Bearer t0k', 'x-team': 'a' } });
    try {
      const answer = await transport.send('POST', '/publish', body([testEvent('a')]));
      assert.equal(answer.status, 401);
      assert.equal(fake.requests.length, 1, 'not retried');
      assert.equal(fake.requests[0]!.headers.authorization, 'Bearer t0k');
      assert.equal(fake.requests[0]!.headers['x-team'], 'a');
    } finally {
      transport.close();
      await fake.close();
    }
  });

  test('destroy() cuts a request in flight: it throws aborted', async () => {
    const fake = await fakeAggregator(() => new Promise(() => {}));
    const transport = new Transport({ ...options, url: fake.url });
    try {
      const sending = transport.send('POST', '/publish', body([testEvent('a')]));
      await waitFor(() => fake.requests.length === 1, 'the request at the server');
      transport.destroy();
      await assert.rejects(sending, (error: unknown) => error instanceof ClientError && error.code === 'aborted');
    } finally {
      await fake.close();
    }
  });

  test('https: the TLS options reach node:https (a private CA, a client certificate)', { skip: missingCommand('openssl', ['version']) ?? false }, async () => {
    const files = makeCertificates(await makeTempDir('client-tls-'));
    const seen: (string | undefined)[] = [];
    const server = createHttpsServer({ cert: pem(files.serverCert), key: pem(files.serverKey), ca: pem(files.caCert), requestCert: true, rejectUnauthorized: true }, (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        seen.push(gunzipSync(Buffer.concat(chunks)).toString('utf8'));
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const trusted = new Transport({ ...options, url, gzipMinBytes: 0, tls: { ca: [pem(files.caCert)], cert: pem(files.clientCert), key: pem(files.clientKey) } });
    const stranger = new Transport({ ...options, maxRetries: 0, url });
    try {
      assert.equal((await trusted.send('POST', '/publish', body([testEvent('a')]))).status, 200);
      assert.deepEqual(JSON.parse(seen[0]!), [testEvent('a')]);
      await assert.rejects(stranger.send('POST', '/publish', body([testEvent('b')])), { code: 'retries_exhausted', message: /certificate/ });
    } finally {
      trusted.close();
      stranger.close();
      server.closeAllConnections();
      server.close();
    }
  });
});

