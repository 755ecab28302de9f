import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Consumer, ConsumerError, type ConsumerOptions, type Message } from '../../../src/consumer/consumer.js';
import { Transport } from '../../../src/consumer/http.js';
import { parseConsumerArgs } from '../../../src/consumer/options.js';
import { runConsumer } from '../../../src/consumer/run.js';
import { AckLedger, verifyRun } from '../../../src/consumer/verify.js';
import type { StoredEvent } from '../../../src/events/responses.js';

/**
 * An in-memory stand-in for the server's consumer-group routes (the contract, not the real
 * implementation): one group over `events`, ids `0-<seq>`, a nak redelivers after `delay_ms` or
 * 20 ms, and the first `overload[route]` requests of a route get a 503.
 */
class FakeGroups {
  readonly requests: { readonly method: string; readonly path: string; readonly body: Record<string, unknown>; readonly auth: string | undefined }[] = [];
  readonly overload = new Map<string, number>();
  readonly #state = new Map<string, { deliveries: number; dueAt: number; acked: boolean }>();
  #group: string | null = null;
  server: Server | null = null;
  url = '';

  constructor(readonly events: StoredEvent[]) {}

  async start(): Promise<this> {
    this.server = createServer((request, response) => void this.#serve(request, response));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  close(): void {
    this.server?.closeAllConnections();
    this.server?.close();
  }

  async #serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of request) text += String(chunk);
    const body = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
    const url = new URL(request.url ?? '/', 'http://x');
    this.requests.push({ method: request.method ?? '', path: url.pathname, body, auth: request.headers.authorization });
    const reply = (status: number, answer: unknown, headers: Record<string, string> = {}): void => {
      response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(answer));
    };
    const route = /^\/groups\/([^/]+)(?:\/(\w+))?$/.exec(url.pathname);
    const overloads = this.overload.get(route?.[2] ?? url.pathname) ?? 0;
    if (overloads > 0) {
      this.overload.set(route?.[2] ?? url.pathname, overloads - 1);
      return reply(503, { error: { code: 'overloaded', message: 'busy' } }, { 'retry-after': '0' });
    }
    if (url.pathname === '/events') {
      const topic = url.searchParams.get('topic');
      const from = Number(url.searchParams.get('after') ?? 0);
      const page = this.events.filter((event) => event.topic === topic && event.seq > from).slice(0, Number(url.searchParams.get('limit')));
      return reply(200, { topic, count: page.length, next: page.length ? String(page.at(-1)!.seq) : null, events: page });
    }
    if (!route) return reply(404, { error: { code: 'not_found', message: 'no route' } });
    const [, , verb] = route;
    if (!verb && request.method === 'PUT') {
      const definition = JSON.stringify({ topics: body.topics, start: body.start ?? 'earliest' });
      const existed = this.#group !== null;
      this.#group ??= definition;
      if (this.#group !== definition) return reply(409, { error: { code: 'group_conflict', message: 'other topics' } });
      return reply(existed ? 200 : 201, {});
    }
    if (this.#group === null) return reply(404, { error: { code: 'group_not_found', message: 'no group' } });
    const ids = (body.ids ?? []) as string[];
    if (verb === 'fetch') return reply(200, { messages: await this.#deliver(body.max as number, body.wait_ms as number, request) });
    if (verb === 'ack') {
      const results = ids.map((id) => {
        const state = this.#state.get(id);
        const status = !state ? 'unknown' : state.acked ? 'already_acked' : 'acked';
        if (state) state.acked = true;
        return { id, status };
      });
      return reply(200, { acked: results.filter((result) => result.status === 'acked').length, results });
    }
    if (!verb && request.method === 'GET') return reply(200, { name: route[1], ...JSON.parse(this.#group) as object, state: { pending: this.#state.size } });
    if (verb === 'term' || verb === 'extend') return reply(200, { results: ids.map((id) => ({ id, status: this.#state.has(id) ? 'done' : 'unknown' })) });
    if (verb === 'nak') {
      for (const id of ids) {
        const state = this.#state.get(id);
        if (state && !state.acked) state.dueAt = Date.now() + ((body.delay_ms as number | undefined) ?? 20);
      }
      return reply(200, { results: ids.map((id) => ({ id, status: 'naked' })) });
    }
    return reply(404, { error: { code: 'not_found', message: 'no route' } });
  }

  /** Due messages first come, first served; waits up to waitMs for one (polling, which is plenty for a test). */
  async #deliver(max: number, waitMs: number, request: IncomingMessage): Promise<unknown[]> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const now = Date.now();
      const due = this.events.filter((event) => {
        const state = this.#state.get(`0-${event.seq}`);
        return !state || (!state.acked && state.dueAt <= now);
      });
      // A client gone (aborted) gets nothing: its messages would otherwise wait out their ack wait.
      if (request.socket.destroyed) return [];
      if (due.length > 0 || now >= deadline) {
        return due.slice(0, max).map((event) => {
          const id = `0-${event.seq}`;
          const state = this.#state.get(id) ?? { deliveries: 0, dueAt: 0, acked: false };
          state.deliveries++;
          state.dueAt = now + 30_000;
          this.#state.set(id, state);
          return { id, delivery_count: state.deliveries, event };
        });
      }
      await sleep(5);
    }
  }
}

function storedEvents(count: number, topic = 'orders.eu'): StoredEvent[] {
  return Array.from({ length: count }, (_, index) => ({
    topic,
    event_id: `e${index + 1}`,
    timestamp: '2025-10-22T10:30:00Z',
    source: 'test',
    payload: { n: index },
    seq: index + 1,
    received_at: '2025-10-22T10:30:00.001Z',
  }));
}

const servers: FakeGroups[] = [];
after(() => servers.forEach((server) => server.close()));

async function fake(events: StoredEvent[]): Promise<FakeGroups> {
  const server = await new FakeGroups(events).start();
  servers.push(server);
  return server;
}

/** Runs a consumer until `done()` holds (checked every 5 ms), then stops it. */
async function consumeUntil(options: ConsumerOptions, done: (consumer: Consumer) => boolean): Promise<Consumer> {
  const consumer = new Consumer({ waitMs: 50, ...options });
  const running = consumer.run();
  while (!done(consumer)) await Promise.race([sleep(5), running]);
  await consumer.stop();
  await running;
  return consumer;
}

describe('Consumer against a fake group server', () => {
  test('creates the group, handles every message once, acks in batches, sends the token', async () => {
    const server = await fake(storedEvents(250));
    const seen: string[] = [];
    const consumer = await consumeUntil(
      { url: server.url, group: 'g', token: 's3cret', create: { topics: 'orders.*' }, handler: async (message) => void seen.push(message.event.event_id) },
      (c) => c.counters.acked === 250,
    );
    assert.equal(new Set(seen).size, 250);
    assert.deepEqual(consumer.counters, { fetched: 250, redelivered: 0, processed: 250, failures: 0, acked: 250, alreadyAcked: 0, unknownAcks: 0, naked: 0, released: 0 });
    assert.ok(server.requests.every((request) => request.auth === 'Bearer s3cret'));
    assert.deepEqual(server.requests[0]!.body, { topics: 'orders.*' });
    const ackBatches = server.requests.filter((request) => request.path.endsWith('/ack')).map((request) => (request.body.ids as string[]).length);
    assert.ok(ackBatches.length < 250 && ackBatches.every((size) => size <= 100), `batched acks: ${ackBatches.join(',')}`);
  });

  test('never runs more than `concurrency` handlers, and never fetches more than the free slots', async () => {
    const server = await fake(storedEvents(40));
    let running = 0;
    let peak = 0;
    const handler = async (): Promise<void> => {
      peak = Math.max(peak, ++running);
      await sleep(3);
      running--;
    };
    await consumeUntil({ url: server.url, group: 'g', create: { topics: ['orders.eu'] }, concurrency: 3, maxBatch: 2, handler }, (c) => c.counters.acked === 40);
    assert.equal(peak, 3);
    const asked = server.requests.filter((request) => request.path.endsWith('/fetch')).map((request) => request.body.max as number);
    assert.ok(asked.every((max) => max >= 1 && max <= 2), `fetch max within min(maxBatch, free slots): ${asked.join(',')}`);
  });

  test('a throwing handler naks (no delay_ms: the server backoff decides); the redelivery is acked', async () => {
    const server = await fake(storedEvents(10));
    const failedOnce = new Set<string>();
    const handler = async (message: Message): Promise<void> => {
      if (!failedOnce.has(message.id)) {
        failedOnce.add(message.id);
        throw new Error('first try fails');
      }
      assert.equal(message.deliveryCount, 2);
    };
    const consumer = await consumeUntil({ url: server.url, group: 'g', create: { topics: 'orders.eu' }, handler }, (c) => c.counters.acked === 10);
    assert.equal(consumer.counters.failures, 10);
    assert.equal(consumer.counters.naked, 10);
    assert.equal(consumer.counters.redelivered, 10);
    assert.ok(server.requests.filter((request) => request.path.endsWith('/nak')).every((request) => !('delay_ms' in request.body)));
  });

  test('stop() lets running handlers finish and flushes their acks before resolving', async () => {
    const server = await fake(storedEvents(5));
    let finished = 0;
    const handler = async (): Promise<void> => {
      await sleep(100);
      finished++;
    };
    const consumer = new Consumer({ url: server.url, group: 'g', create: { topics: 'orders.eu' }, waitMs: 50, handler });
    const running = consumer.run();
    while (consumer.inFlight < 5) await sleep(5);
    await consumer.stop();
    await running;
    assert.equal(finished, 5);
    assert.equal(consumer.counters.acked, 5);
  });

  test('503s are retried; a 409 on create and a 404 group are fatal and name the server code', async () => {
    const server = await fake(storedEvents(3));
    server.overload.set('fetch', 2).set('ack', 1);
    let retries = 0;
    await consumeUntil({ url: server.url, group: 'g', create: { topics: 'orders.eu' }, onRetry: () => retries++, handler: async () => undefined }, (c) => c.counters.acked === 3);
    assert.equal(retries, 3);

    const conflict = new Consumer({ url: server.url, group: 'g', create: { topics: 'other' }, handler: async () => undefined });
    await assert.rejects(conflict.run(), (error: unknown) => error instanceof ConsumerError && error.serverCode === 'group_conflict' && /409 group_conflict/.test(error.message));

    const missing = new Consumer({ url: (await fake([])).url, group: 'nope', handler: async () => undefined });
    await assert.rejects(missing.run(), (error: unknown) => error instanceof ConsumerError && error.code === 'refused' && error.serverCode === 'group_not_found');
  });

  test('info, extend and term reach their routes with the documented bodies', async () => {
    const server = await fake(storedEvents(1));
    await consumeUntil({ url: server.url, group: 'g', create: { topics: 'orders.eu', ackWaitMs: 1000 }, handler: async () => undefined }, (c) => c.counters.acked === 1);
    assert.deepEqual(server.requests[0]!.body, { topics: 'orders.eu', ack_wait_ms: 1000 });
    const consumer = new Consumer({ url: server.url, group: 'g', handler: async () => undefined });
    assert.deepEqual(await consumer.extend(['0-1', 'x']), [{ id: '0-1', status: 'done' }, { id: 'x', status: 'unknown' }]);
    assert.deepEqual(await consumer.term(['0-1'], 'poison'), [{ id: '0-1', status: 'done' }]);
    assert.deepEqual(server.requests.at(-1)!.body, { ids: ['0-1'], reason: 'poison' });
    assert.equal((await consumer.info()).name, 'g');
  });

  test('aborting cuts the long poll at once and resolves run()', async () => {
    const server = await fake([]);
    const controller = new AbortController();
    const consumer = new Consumer({ url: server.url, group: 'g', create: { topics: 'x' }, waitMs: 10_000, signal: controller.signal, handler: async () => undefined });
    const running = consumer.run();
    await sleep(50);
    const started = Date.now();
    controller.abort();
    await running;
    assert.ok(Date.now() - started < 1000, 'did not wait for the 10 s poll');
  });
});

describe('verify', () => {
  test('reads every page of each topic; reports missing events and double acks', async () => {
    const server = await fake([...storedEvents(2500, 'a'), ...storedEvents(2, 'b').map((event) => ({ ...event, seq: event.seq + 2500 }))]);
    const ledger = new AckLedger();
    for (let n = 1; n <= 2500; n++) ledger.record('a', `e${n}`, n === 7 ? 'already_acked' : 'acked');
    ledger.record('a', 'e9', 'acked');
    ledger.record('b', 'e1', 'acked');
    const result = await verifyRun(ledger, ['a', 'b'], new Transport({ url: server.url, maxRetries: 0, timeoutMs: 2000 }));
    assert.deepEqual(
      { ok: result.ok, stored: result.stored, missing: result.missing, doubles: result.doubles, already: result.already_acked, missingSample: result.missing_sample, doubleSample: result.double_sample },
      { ok: false, stored: 2502, missing: 1, doubles: 1, already: 1, missingSample: ['b/e2'], doubleSample: ['a/e9'] },
    );
  });

  test('the CLI run: --count stops, --verify passes on a clean run', async () => {
    const server = await fake(storedEvents(30));
    const options = parseConsumerArgs(['--url', server.url, '--group', 'g', '--topics', 'orders.eu', '--exit-when-idle', '200', '--verify', '--fail-rate', '0.3', '--nak-delay-ms', '0']).options!;
    const report = await runConsumer(options, { log: { write: () => true } });
    assert.equal(report.ok, true, JSON.stringify(report));
    assert.equal(report.acked, 30);
    assert.equal(report.verify?.stored, 30);
    assert.ok(report.failures > 0 && report.naked === report.failures);
    assert.ok(server.requests.filter((request) => request.path.endsWith('/nak')).every((request) => request.body.delay_ms === 0));

    const counted = await runConsumer(parseConsumerArgs(['--url', (await fake(storedEvents(500))).url, '--group', 'g', '--topics', 'orders.eu', '--count', '50', '--concurrency', '4']).options!);
    assert.ok(counted.ok && counted.acked >= 50 && counted.acked < 500, `stopped near --count: ${counted.acked}`);
  });

  test('options: --group is required, lists and "server" parse, --help needs nothing', () => {
    assert.throws(() => parseConsumerArgs([]), /--group is required/);
    assert.equal(parseConsumerArgs(['--help']).help, true);
    const options = parseConsumerArgs(['--group', 'g', '--topics', 'a, b.*', '--token', 't']).options!;
    assert.deepEqual([options.topics, options.nakDelayMs, options.token, options.readToken, options.concurrency], [['a', 'b.*'], null, 't', 't', 16]);
    assert.throws(() => parseConsumerArgs(['--group', 'g', '--nak-delay-ms', 'soon']), /--nak-delay-ms must be "server" or a delay in ms/);
  });
});
