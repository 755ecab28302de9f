import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Client, type AggregatorEvent } from '../../../src/client/client.js';
import { ClientError } from '../../../src/client/errors.js';
import { waitFor } from '../../helper.js';
import { fakeAggregator, testEvent, type Reply } from './fake-aggregator.js';

// Every test can hang only if the client loses an event: fail it instead.
const kTimeout = { timeout: 15_000 };

const isClientError = (code: ClientError['code']) => (error: unknown) => error instanceof ClientError && error.code === code;

describe('Client against a scripted server', () => {
  test('batches leave at maxBatchEvents; each event gets its own verdict, duplicates included', kTimeout, async () => {
    const fake = await fakeAggregator();
    const client = new Client({ url: fake.url, maxBatchEvents: 10, lingerMs: 1000 });
    try {
      const ids = Array.from({ length: 25 }, (_, index) => `e${index % 20}`);
      const publishing = ids.map((id) => client.publish(testEvent(id)));
      await client.flush();
      const verdicts = await Promise.all(publishing);
      assert.deepEqual(fake.requests.map((request) => request.events.length), [10, 10, 5]);
      assert.ok(fake.requests.every((request) => request.url === '/publish?results=1'));
      assert.deepEqual(verdicts.map((verdict) => verdict.event_id), ids, 'in publish order');
      assert.equal(verdicts.filter((verdict) => verdict.status === 'duplicate').length, 5);
      assert.deepEqual(verdicts[20], { topic: 't', event_id: 'e0', status: 'duplicate' });
    } finally {
      await client.close();
      await fake.close();
    }
  });

  test('one invalid event fails alone: the rest of its batch is sent again without it', kTimeout, async () => {
    const fake = await fakeAggregator((request): Reply | null => {
      const index = request.events.findIndex((event) => event.event_id === 'bad');
      if (index < 0) return null;
      return { status: 422, body: { error: { code: 'invalid_event', message: '1 invalid event', details: [{ index, path: '/timestamp', message: 'must be an RFC 3339 date-time' }] } } };
    });
    const client = new Client({ url: fake.url, lingerMs: 1000 });
    try {
      const results = await Promise.allSettled(['a', 'b', 'bad', 'c'].map((id) => client.publish(testEvent(id))).concat(client.flush().then(() => null as never)));
      assert.deepEqual(results.slice(0, 4).map((result) => result.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
      const failure = (results[2] as PromiseRejectedResult).reason as ClientError;
      assert.equal(failure.code, 'invalid_event');
      assert.equal(failure.status, 422);
      assert.deepEqual(failure.details, [{ path: '/timestamp', message: 'must be an RFC 3339 date-time' }]);
      assert.match(failure.message, /\/timestamp must be an RFC 3339 date-time/);
      assert.deepEqual(fake.requests.map((request) => request.events.map((event) => event.event_id)), [['a', 'b', 'bad', 'c'], ['a', 'b', 'c']]);
    } finally {
      await client.close();
      await fake.close();
    }
  });

  test('413 for a batch: it is halved until the parts fit', kTimeout, async () => {
    const fake = await fakeAggregator((request) => (request.events.length > 3 ? { status: 413, body: { error: { code: 'too_large', message: 'too many' } } } : null));
    // One request at a time: the halves then arrive in order, which the check below relies on.
    const client = new Client({ url: fake.url, lingerMs: 1000, concurrency: 1 });
    try {
      const publishing = Array.from({ length: 10 }, (_, index) => client.publish(testEvent(`e${index}`)));
      await client.flush();
      assert.equal((await Promise.all(publishing)).filter((verdict) => verdict.status === 'stored').length, 10);
      const accepted = fake.requests.filter((request) => request.events.length <= 3).flatMap((request) => request.events.map((event) => event.event_id));
      assert.deepEqual(accepted, Array.from({ length: 10 }, (_, index) => `e${index}`), 'every event once, in order');
      assert.deepEqual(fake.requests.map((request) => request.events.length), [10, 5, 3, 2, 5, 3, 2], 'halved depth first');
    } finally {
      await client.close();
      await fake.close();
    }
  });

  test('a refusal of the whole request fails each of its events with the status and the server code', kTimeout, async () => {
    const fake = await fakeAggregator(() => ({ status: 401, body: { error: { code: 'unauthorized', message: 'no token' } } }));
    const client = new Client({ url: fake.url, token: 'wrong', lingerMs: 0 });
    try {
      const results = await Promise.allSettled([client.publish(testEvent('a')), client.publish(testEvent('b'))]);
      for (const result of results) {
        assert.equal(result.status, 'rejected');
        const error = (result as PromiseRejectedResult).reason as ClientError;
        assert.deepEqual([error.code, error.status, error.serverCode], ['refused', 401, 'unauthorized']);
      }
      assert.equal(fake.requests.length, 1, 'not retried');
      assert.equal(fake.requests[0]!.headers.authorization, 'Bearer wrong');
    } finally {
      await client.close();
      await fake.close();
    }
  });

  test('retries run out: the batch fails with retries_exhausted after 1 + maxRetries attempts', kTimeout, async () => {
    const fake = await fakeAggregator(() => ({ status: 503, body: { error: { code: 'overloaded', message: 'full' } }, headers: { 'retry-after': '0' } }));
    const notices: number[] = [];
    const client = new Client({ url: fake.url, maxRetries: 2, lingerMs: 0, onRetry: (notice) => notices.push(notice.attempt) });
    try {
      await assert.rejects(client.publish(testEvent('a')), (error: unknown) => isClientError('retries_exhausted')(error) && /3 attempt\(s\); last: 503 overloaded: full/.test((error as Error).message));
      assert.equal(fake.requests.length, 3);
      assert.deepEqual(notices, [0, 1]);
    } finally {
      await client.close();
      await fake.close();
    }
  });

  test('backpressure: never more than maxBufferedEvents held; ready() waits for room; all resolve', kTimeout, async () => {
    const releases: (() => void)[] = [];
    let mostUnanswered = 0;
    const fake = await fakeAggregator(() => {
      mostUnanswered = Math.max(mostUnanswered, fake.unanswered());
      return new Promise<null>((resolve) => releases.push(() => resolve(null)));
    });
    const client = new Client({ url: fake.url, maxBufferedEvents: 10, maxBatchEvents: 5, concurrency: 4, lingerMs: 0 });
    try {
      const publishing = Array.from({ length: 50 }, (_, index) => client.publish(testEvent(`e${index}`)));
      assert.equal(client.pending, 50);
      let ready = false;
      const readiness = client.ready().then(() => (ready = true));
      await waitFor(() => releases.length === 2, 'two full batches at the server');
      assert.equal(fake.unanswered(), 10);
      assert.equal(ready, false, 'no room while the buffer is full');
      while (fake.requests.length < 10 || releases.length > 0) {
        await waitFor(() => releases.length > 0, 'a request to answer');
        releases.shift()!();
      }
      await readiness;
      assert.equal((await Promise.all(publishing)).length, 50);
      assert.equal(mostUnanswered, 10, 'the server never saw more than the buffer at once');
      assert.equal(client.pending, 0);
    } finally {
      await client.close();
      await fake.close();
    }
  });

  test('flush() sends at once, without waiting for the linger, and resolves once all before it are answered', kTimeout, async () => {
    const fake = await fakeAggregator();
    const client = new Client({ url: fake.url, lingerMs: 60_000 });
    try {
      const answered: string[] = [];
      const publishing = ['a', 'b', 'c'].map((id) => client.publish(testEvent(id)).then((verdict) => answered.push(verdict.event_id)));
      await client.flush();
      assert.deepEqual(answered.sort(), ['a', 'b', 'c']);
      await Promise.all(publishing);
      await client.flush();
      assert.equal(fake.requests.length, 1, 'an empty flush sends nothing');
    } finally {
      await client.close();
      await fake.close();
    }
  });

  test('close() flushes, returns the same promise each time; publish() and ready() after it reject closed', kTimeout, async () => {
    const fake = await fakeAggregator();
    const client = new Client({ url: fake.url, lingerMs: 60_000 });
    const publishing = client.publish(testEvent('a'));
    const closing = client.close();
    assert.equal(client.close(), closing);
    await closing;
    assert.equal((await publishing).status, 'stored');
    await assert.rejects(client.publish(testEvent('b')), isClientError('closed'));
    await assert.rejects(client.ready(), isClientError('closed'));
    assert.equal(fake.requests.length, 1);
    await fake.close();
  });

  test('destroy(): every unanswered publish rejects aborted at once', kTimeout, async () => {
    const fake = await fakeAggregator(() => new Promise(() => {}));
    const client = new Client({ url: fake.url, lingerMs: 0 });
    const publishing = [client.publish(testEvent('a')), client.publish(testEvent('b'))];
    await waitFor(() => fake.requests.length === 1, 'the request at the server');
    client.destroy(new Error('shutting down'));
    for (const result of await Promise.allSettled(publishing)) {
      assert.equal(result.status, 'rejected');
      assert.equal(((result as PromiseRejectedResult).reason as ClientError).code, 'aborted');
    }
    await assert.rejects(client.publish(testEvent('c')), isClientError('closed'));
    await client.close();
    await fake.close();
  });

  test('an event JSON cannot carry is refused at once; the event is copied at publish()', kTimeout, async () => {
    const fake = await fakeAggregator();
    const client = new Client({ url: fake.url, lingerMs: 1000 });
    try {
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      await assert.rejects(client.publish({ ...testEvent('x'), payload: cyclic }), isClientError('invalid_event'));
      await assert.rejects(client.publish({ ...testEvent('y'), payload: { n: 1n } }), isClientError('invalid_event'));
      await assert.rejects(client.publish(null as unknown as AggregatorEvent), isClientError('invalid_event'));
      const event = testEvent('z');
      const publishing = client.publish(event);
      event.event_id = 'changed';
      await client.flush();
      assert.equal((await publishing).event_id, 'z');
      assert.deepEqual(fake.requests.map((request) => request.events.length), [1], 'nothing of the refused events was sent');
    } finally {
      await client.close();
      await fake.close();
    }
  });

  test('gzip: true sends batch bodies of 1 KiB or more compressed', kTimeout, async () => {
    const fake = await fakeAggregator();
    const client = new Client({ url: fake.url, gzip: true, lingerMs: 1000 });
    try {
      const publishing = Array.from({ length: 30 }, (_, index) => client.publish(testEvent(`e${index}`)));
      await client.flush();
      await Promise.all(publishing);
      await client.publish(testEvent('alone')).then(() => undefined, () => undefined);
      const encodings = fake.requests.map((request) => request.headers['content-encoding'] ?? 'identity');
      assert.deepEqual(encodings, ['gzip', 'identity'], 'the 30-event body compressed, the lone event not');
      assert.equal(fake.requests[0]!.events.length, 30);
    } finally {
      await client.close();
      await fake.close();
    }
  });
});
