/**
 * The client library against the real service (dist/main.js), imported as a user's program does:
 * `exactly-once-aggregator/client` through package.json's "exports" (dist/client.js), typed by
 * dist/client.d.ts. Exact verdicts under concurrency and duplicates, the linger, a bounded buffer,
 * Retry-After from a service with tiny rings, gzip bodies, one invalid event in a batch, close(),
 * tokens, mutual TLS, and the consumer side from the same entry.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { makeCertificates, pem } from '../harness/certificates.js';
import { missingCommand } from '../harness/tools.js';
import type { AggregatorEvent, ClientErrorCode, RetryNotice, Verdict } from '../src/client-library.js';
import { allEvents, makeTempDir, startServer, stats, waitFor, type TestServer } from './helper.js';

// Through the package's own "exports", as a user's import resolves it; the specifier is a plain
// string so that type checking reads the sources and never needs a build.
const specifier: string = 'exactly-once-aggregator/client';
const { Client, ClientError, Consumer } = (await import(specifier)) as typeof import('../src/client-library.js');

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

function libraryEvent(topic: string, id: string, payload: Record<string, unknown> = {}): AggregatorEvent {
  return { topic, event_id: id, timestamp: new Date(Date.UTC(2025, 9, 22, 10, 30)), source: 'client-library', payload };
}

const failsWith = (code: ClientErrorCode) => (error: unknown) => error instanceof ClientError && error.code === code;

interface Counters {
  readonly received: number;
  readonly unique_processed: number;
  readonly duplicate_dropped: number;
}

async function counters(url: string): Promise<Counters> {
  const { received, unique_processed, duplicate_dropped } = (await stats(url)) as Counters;
  return { received, unique_processed, duplicate_dropped };
}

function moved(before: Counters, after: Counters): Counters {
  return { received: after.received - before.received, unique_processed: after.unique_processed - before.unique_processed, duplicate_dropped: after.duplicate_dropped - before.duplicate_dropped };
}

describe('the client library against the service', { timeout: 120_000 }, () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ shards: 2 });
  });
  after(async () => {
    await server?.stop();
  });

  test('5 000 events with 1 000 duplicates from two clients at once: one stored verdict per identity, and /stats agrees', async () => {
    const distinct = 4000;
    // Ids 0..3999, then 1 000 repeats spread over them, interleaved so both clients race for the same identities.
    const ids = Array.from({ length: 5000 }, (_, index) => (index < distinct ? index : (index * 7919) % distinct));
    const order = ids.map((id, index) => ({ id, key: (index * 2654435761) % 5000 })).sort((a, b) => a.key - b.key);
    const before = await counters(server.url);
    const clients = [new Client({ url: server.url, maxBatchEvents: 250 }), new Client({ url: server.url, maxBatchEvents: 100, concurrency: 8 })];
    const verdicts = await Promise.all(order.map(({ id }, index) => clients[index % 2]!.publish(libraryEvent(`lib.exact.${id % 3}`, `e-${id}`, { id }))));
    await Promise.all(clients.map((client) => client.close()));

    const storedPerIdentity = new Map<string, number>();
    for (const verdict of verdicts) {
      const key = `${verdict.topic}/${verdict.event_id}`;
      storedPerIdentity.set(key, (storedPerIdentity.get(key) ?? 0) + (verdict.status === 'stored' ? 1 : 0));
    }
    assert.equal(storedPerIdentity.size, distinct);
    assert.ok([...storedPerIdentity.values()].every((count) => count === 1), 'each identity stored exactly once');
    assert.equal(verdicts.filter((verdict) => verdict.status === 'stored').length, distinct);
    assert.equal(verdicts.filter((verdict) => verdict.status === 'duplicate').length, 1000);
    assert.deepEqual(verdicts.map((verdict) => verdict.event_id), order.map(({ id }) => `e-${id}`), 'each promise has its own event\'s verdict');
    assert.deepEqual(moved(before, await counters(server.url)), { received: 5000, unique_processed: distinct, duplicate_dropped: 1000 });
  });

  test('a lone event leaves after lingerMs, without a flush', async () => {
    const client = new Client({ url: server.url, lingerMs: 200 });
    try {
      const started = performance.now();
      const verdict = await client.publish(libraryEvent('lib.linger', 'lone'));
      const elapsed = performance.now() - started;
      assert.deepEqual(verdict, { topic: 'lib.linger', event_id: 'lone', status: 'stored' });
      assert.ok(elapsed >= 195, `answered after ${elapsed} ms: it waited for company first`);
    } finally {
      await client.close();
    }
  });

  test('a small buffer bounds what the client holds while 10 000 events of 2 KiB go through, and all resolve', async () => {
    const client = new Client({ url: server.url, maxBufferedEvents: 100, maxBatchEvents: 25, concurrency: 2 });
    const total = 10_000;
    const pad = 'x'.repeat(2048);
    let mostPending = 0;
    let stored = 0;
    const failures: unknown[] = [];
    try {
      for (let index = 0; index < total; index++) {
        await client.ready();
        client.publish(libraryEvent('lib.bounded', `b-${index}`, { pad })).then(
          (verdict) => (stored += verdict.status === 'stored' ? 1 : 0),
          (error: unknown) => failures.push(error),
        );
        mostPending = Math.max(mostPending, client.pending);
      }
      await client.flush();
    } finally {
      await client.close();
    }
    assert.deepEqual(failures, []);
    assert.equal(stored, total);
    assert.ok(mostPending <= 100, `held at most ${mostPending} events`);
    assert.ok(mostPending >= 50, `the buffer was used (${mostPending}): the producer was really held back by it`);
  });

  test('one invalid event in a batch rejects only its own publish; the other nine are stored', async () => {
    const client = new Client({ url: server.url, lingerMs: 60_000 });
    try {
      const events = Array.from({ length: 10 }, (_, index) => libraryEvent('lib.invalid', `i-${index}`));
      const bad = { ...events[4]!, timestamp: 'yesterday' };
      const results = await Promise.allSettled([...events.slice(0, 4), bad, ...events.slice(5)].map((event) => client.publish(event)).concat(client.flush() as Promise<never>));
      const outcomes = results.slice(0, 10);
      assert.deepEqual(outcomes.map((result) => result.status), ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
      const error = (outcomes[4] as PromiseRejectedResult).reason as InstanceType<typeof ClientError>;
      assert.ok(failsWith('invalid_event')(error));
      assert.equal(error.status, 422);
      assert.equal(error.details[0]?.path, '/timestamp');
      assert.ok(outcomes.every((result) => result.status === 'rejected' || (result.value as Verdict).status === 'stored'));
    } finally {
      await client.close();
    }
    assert.deepEqual((await allEvents(server.url, 'lib.invalid')).map((event: { event_id: string }) => event.event_id).sort(), ['i-0', 'i-1', 'i-2', 'i-3', 'i-5', 'i-6', 'i-7', 'i-8', 'i-9']);
  });

  test('gzip bodies are accepted and every event stored', async () => {
    const client = new Client({ url: server.url, gzip: 0, maxBatchEvents: 200 });
    try {
      const verdicts = await Promise.all(Array.from({ length: 1000 }, (_, index) => client.publish(libraryEvent('lib.gzip', `g-${index}`, { text: 'compress me '.repeat(20) }))));
      assert.equal(verdicts.filter((verdict) => verdict.status === 'stored').length, 1000);
    } finally {
      await client.close();
    }
    assert.equal((await allEvents(server.url, 'lib.gzip')).length, 1000);
  });

  test('close() sends what lingers and answers it; publish() after close rejects closed', async () => {
    const client = new Client({ url: server.url, lingerMs: 60_000 });
    const publishing = ['c-1', 'c-2', 'c-3'].map((id) => client.publish(libraryEvent('lib.close', id)));
    await client.close();
    assert.deepEqual((await Promise.all(publishing)).map((verdict) => verdict.status), ['stored', 'stored', 'stored']);
    await assert.rejects(client.publish(libraryEvent('lib.close', 'c-4')), failsWith('closed'));
    await client.close();
    assert.equal((await allEvents(server.url, 'lib.close')).length, 3);
  });

  test('Consumer comes from the same entry and takes what Client published', async () => {
    const client = new Client({ url: server.url });
    await Promise.all(Array.from({ length: 30 }, (_, index) => client.publish(libraryEvent('lib.consume', `m-${index}`))));
    await client.close();
    const seen = new Set<string>();
    const consumer = new Consumer({
      url: server.url,
      group: 'lib-consumers',
      create: { topics: 'lib.consume' },
      waitMs: 200,
      handler: async (message) => {
        seen.add(message.event.event_id);
      },
    });
    const running = consumer.run();
    await waitFor(() => consumer.counters.acked === 30, () => `30 acks, got ${consumer.counters.acked}`, 10_000);
    await consumer.stop();
    await running;
    assert.equal(seen.size, 30);
  });
});

describe('the client library against a service that pushes back', { timeout: 120_000 }, () => {
  test('503 with Retry-After from tiny rings: the client waits at least that long, retries, and every event is stored once', async () => {
    const server = await startServer({ shards: 2, args: ['--ring-bytes', '65536', '--retry-after', '1'] });
    try {
      const notices: { readonly notice: RetryNotice; readonly at: number }[] = [];
      const client = new Client({ url: server.url, concurrency: 32, maxBatchEvents: 100, lingerMs: 0, maxRetries: 50, onRetry: (notice) => notices.push({ notice, at: performance.now() }) });
      let published = 0;
      const verdicts: Verdict[] = [];
      // Rounds until the service has refused at least once (a fast machine may drain a round in time).
      for (let round = 0; round < 20 && notices.length === 0; round++) {
        const batch = Array.from({ length: 3200 }, (_, index) => libraryEvent('lib.pushback', `p-${round}-${index}`, { pad: 'p'.repeat(100) }));
        published += batch.length;
        verdicts.push(...(await Promise.all(batch.map((event) => client.publish(event)))));
      }
      const answeredAt = performance.now();
      await client.close();
      const overloaded = notices.filter(({ notice }) => notice.reason.startsWith('503 overloaded'));
      assert.ok(overloaded.length > 0, `the service never refused: ${notices.length} notices`);
      for (const { notice } of overloaded) assert.ok(notice.delayMs >= 1000, `waited ${notice.delayMs} ms after Retry-After: 1`);
      assert.ok(answeredAt - overloaded[0]!.at >= 1000, 'the retried batch was answered no sooner than Retry-After');
      assert.equal(verdicts.filter((verdict) => verdict.status === 'stored').length, published, 'a full ring queues nothing: the retry stores each event once');
      const final = await counters(server.url);
      assert.deepEqual(final, { received: published, unique_processed: published, duplicate_dropped: 0 });
    } finally {
      await server.stop();
    }
  });

  test('a publish token: sent as a bearer token; without it every event is refused 401', async () => {
    const server = await startServer({ args: ['--publish-token', 'pub-secret'] });
    try {
      const client = new Client({ url: server.url, token: 'pub-secret' });
      assert.equal((await client.publish(libraryEvent('lib.token', 't-1'))).status, 'stored');
      await client.close();
      const anonymous = new Client({ url: server.url });
      await assert.rejects(anonymous.publish(libraryEvent('lib.token', 't-2')), (error: unknown) => failsWith('refused')(error) && (error as InstanceType<typeof ClientError>).status === 401 && (error as InstanceType<typeof ClientError>).serverCode === 'unauthorized');
      await anonymous.close();
    } finally {
      await server.stop();
    }
  });

  test('https with mutual TLS: the tls options reach the service; a client without a certificate gets nowhere', { skip: missingCommand('openssl', ['version']) ?? false }, async () => {
    const files = makeCertificates(await makeTempDir('client-library-tls-'));
    const server = await startServer({ args: ['--tls-cert', files.serverCert, '--tls-key', files.serverKey, '--tls-client-ca', files.caCert] });
    try {
      const url = `https://127.0.0.1:${server.port}`;
      const client = new Client({ url, gzip: true, tls: { ca: pem(files.caCert), cert: pem(files.clientCert), key: pem(files.clientKey) } });
      const verdicts = await Promise.all(Array.from({ length: 300 }, (_, index) => client.publish(libraryEvent('lib.tls', `s-${index}`))));
      assert.equal(verdicts.filter((verdict) => verdict.status === 'stored').length, 300);
      await client.close();
      const stranger = new Client({ url, maxRetries: 0, tls: { ca: pem(files.caCert) } });
      await assert.rejects(stranger.publish(libraryEvent('lib.tls', 's-x')), failsWith('retries_exhausted'));
      await stranger.close();
      // The consumer side takes the same tls options.
      const taken = new Set<string>();
      const consumer = new Consumer({
        url,
        group: 'lib-tls',
        create: { topics: 'lib.tls', start: 'earliest' },
        waitMs: 200,
        tls: { ca: pem(files.caCert), cert: pem(files.clientCert), key: pem(files.clientKey) },
        handler: async (message) => {
          taken.add(message.event.event_id);
          if (taken.size === 300) void consumer.stop();
        },
      });
      try {
        await consumer.run();
      } finally {
        await consumer.stop();
      }
      assert.equal(taken.size, 300);
      assert.equal(consumer.counters.acked, 300, 'every message acked over mutual TLS');
    } finally {
      await server.stop();
    }
  });
});

describe('dist/client.d.ts', { timeout: 60_000 }, () => {
  test('types a program on its own: the right use compiles, a wrong option or event does not', async () => {
    const dir = await makeTempDir('client-types-');
    const entry = JSON.stringify(join(repoRoot, 'dist', 'client.js'));
    writeFileSync(join(dir, 'good.mts'), [
      `import { Client, ClientError, Consumer, type Verdict, type ClientOptions } from ${entry};`,
      `const options: ClientOptions = { url: 'https://aggregator:8443', token: 't', gzip: 4096, tls: { ca: 'PEM' } };`,
      `const client = new Client(options);`,
      `const verdict: Verdict = await client.publish({ topic: 't', event_id: '1', timestamp: new Date(), source: 's', payload: {} });`,
      `const status: 'stored' | 'duplicate' = verdict.status;`,
      `await client.ready(); await client.flush(); await client.close(); client.destroy();`,
      `try { await client.publish({ topic: 't', event_id: '2', timestamp: '2025-10-22T10:30:00Z', source: 's', payload: {} }); } catch (error) { if (error instanceof ClientError && error.code === 'closed') console.log(status, error.details.length); }`,
      `new Consumer({ url: 'http://x', group: 'g', handler: async (message) => { console.log(message.event.event_id); } });`,
    ].join('\n'));
    writeFileSync(join(dir, 'bad.mts'), [
      `import { Client } from ${entry};`,
      `const client = new Client({ url: 'http://x', lingerMS: 5 });`,
      `await client.publish({ topic: 't', event_id: 1, timestamp: 'now', source: 's', payload: {} });`,
      `const code: 'no_such_code' = (null as unknown as import(${entry}).ClientError).code;`,
    ].join('\n'));
    const compilerOptions = { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', noEmit: true, types: ['node'], typeRoots: [join(repoRoot, 'node_modules', '@types')] };
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    for (const file of ['good.mts', 'bad.mts']) writeFileSync(join(dir, `${file}.json`), JSON.stringify({ compilerOptions, files: [file] }));
    await run(process.execPath, [tsc, '-p', join(dir, 'good.mts.json')]).catch((error: { stdout: string }) => assert.fail(`the documented use does not compile:\n${error.stdout}`));
    const refused = await run(process.execPath, [tsc, '-p', join(dir, 'bad.mts.json')]).then(() => null, (error: { stdout: string }) => error.stdout);
    assert.ok(refused !== null, 'wrong use compiled: the declarations are too loose');
    assert.match(refused, /bad\.mts\(2,.*lingerMS/);
    assert.match(refused, /bad\.mts\(3,.*number.*string/);
    assert.match(refused, /bad\.mts\(4,.*no_such_code/);
  });
});
