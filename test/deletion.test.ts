/**
 * Deletion by selector (POST /admin/delete) on a real server: by ids and by receive-time range,
 * idempotent, identities kept unless `forget`, counters exact and durable (across kill -9), and
 * never possible without the admin token.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { allEvents, event, publish, startServer, stats, type TestServer } from './helper.js';

const kAdmin = 'admin-secret';

async function remove(server: TestServer, selector: unknown, token: string | null = kAdmin): Promise<{ status: number; body: any }> {
  const answer = await fetch(`${server.url}/admin/delete`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof selector === 'string' ? selector : JSON.stringify(selector),
  });
  return { status: answer.status, body: await answer.json() };
}

const batchOf = (topic: string, from: number, count: number) => Array.from({ length: count }, (_, index) => event({ topic, event_id: `${topic}-${from + index}` }));
const ids = async (server: TestServer, topic: string) => (await allEvents(server.url, topic)).map((item) => item.event_id);

describe('POST /admin/delete', () => {
  test('by ids: idempotent, identities kept (a resend is a duplicate), forget erases them; counters exact after kill -9', async () => {
    const server = await startServer({ args: ['--admin-token', kAdmin] });
    assert.equal((await publish(server.url, [...batchOf('gdpr', 0, 50), ...batchOf('other', 0, 10)])).status, 200);

    const first = await remove(server, { topic: 'gdpr', event_ids: ['gdpr-1', 'gdpr-2', 'gdpr-3', 'never-stored'] });
    assert.deepEqual([first.status, first.body], [200, { deleted: 3, more: false }]);
    assert.deepEqual((await remove(server, { topic: 'gdpr', event_ids: ['gdpr-1', 'gdpr-2', 'gdpr-3'] })).body, { deleted: 0, more: false }, 'a repeat removes nothing');
    assert.ok(!(await ids(server, 'gdpr')).includes('gdpr-2'));
    const resend = await publish(server.url, batchOf('gdpr', 1, 3));
    assert.deepEqual([resend.body.unique, resend.body.duplicates], [0, 3], 'a deleted identity is still a duplicate');

    // forget: the row and the identity, and an identity already deleted before.
    assert.deepEqual((await remove(server, { topic: 'gdpr', event_ids: ['gdpr-10', 'gdpr-1'], forget: true })).body, { deleted: 1, more: false });
    const after = await publish(server.url, batchOf('gdpr', 10, 1).concat(batchOf('gdpr', 1, 1)));
    assert.equal(after.body.unique, 2, 'forgotten identities are stored again');

    const counts = await stats(server.url);
    assert.deepEqual([counts.unique_processed, counts.deleted, counts.stored], [62, 4, 58]);
    assert.deepEqual(counts.topic_storage.gdpr, { stored: 48, expired: 0, deleted: 4 });
    await server.crash();
    const restarted = await startServer({ dataDir: server.dataDir, args: ['--admin-token', kAdmin] });
    try {
      const again = await stats(restarted.url);
      assert.deepEqual([again.unique_processed, again.deleted, again.stored], [62, 4, 58]);
      assert.equal((await ids(restarted, 'gdpr')).length + (await ids(restarted, 'other')).length, again.stored);
      assert.deepEqual((await publish(restarted.url, batchOf('gdpr', 2, 1))).body.duplicates, 1, 'kept identities survive the crash');
    } finally {
      await restarted.stop();
    }
  });

  test('by receive-time range: only what was received in it, on every shard', async () => {
    const server = await startServer({ shards: 3, args: ['--admin-token', kAdmin] });
    try {
      assert.equal((await publish(server.url, batchOf('range', 0, 40))).status, 200);
      // The range splits at the millisecond after the first batch's receive time; the second batch is sent once the clock is past it.
      const firstReceived = Math.max(...(await allEvents(server.url, 'range')).map((item) => Date.parse(item.received_at)));
      const between = new Date(firstReceived + 1).toISOString();
      while (Date.now() <= firstReceived + 1) await new Promise((resolve) => setImmediate(resolve));
      assert.equal((await publish(server.url, batchOf('range', 40, 30))).status, 200);
      const late = await remove(server, { topic: 'range', received_after: between });
      assert.deepEqual(late.body, { deleted: 30, more: false });
      assert.deepEqual(await ids(server, 'range'), Array.from({ length: 40 }, (_, index) => `range-${index}`));
      const rest = await remove(server, { topic: 'range', received_before: between, received_after: '-1h' });
      assert.deepEqual(rest.body, { deleted: 40, more: false });
      assert.deepEqual(await ids(server, 'range'), []);
      assert.deepEqual((await remove(server, { topic: 'no-such-topic' })).body, { deleted: 0, more: false });
    } finally {
      await server.stop();
    }
  });

  test('refused without the admin token, or with a bad selector: nothing removed', async () => {
    const off = await startServer();
    try {
      assert.equal((await publish(off.url, batchOf('keep', 0, 3))).status, 200);
      const refused = await remove(off, { topic: 'keep' }, null);
      assert.equal(refused.status, 403, 'without --admin-token deletion is off');
      assert.match(refused.body.error.message, /--admin-token/);
    } finally {
      await off.stop();
    }
    const server = await startServer({ args: ['--admin-token', kAdmin, '--publish-token', 'pub'] });
    try {
      const auth = { headers: { 'content-type': 'application/json', authorization: 'Bearer pub' } };
      assert.equal((await fetch(`${server.url}/publish`, { method: 'POST', ...auth, body: JSON.stringify(batchOf('keep', 0, 3)) })).status, 200);
      assert.equal((await remove(server, { topic: 'keep' }, null)).status, 401);
      assert.equal((await remove(server, { topic: 'keep' }, 'pub')).status, 403, 'the publish token cannot delete');
      for (const selector of [
        { topic: 'keep', event_ids: [] },
        { topic: 'keep', event_ids: ['a'], received_before: '-1d' },
        { topic: 'keep', received_before: 'yesterday' },
        { topic: 'not a topic' },
        { topic: 'keep', forget: 'yes' },
        { topic: 'keep', evnt_ids: ['keep-0'] },
        ['keep'],
      ]) {
        const reply = await remove(server, selector);
        assert.deepEqual([reply.status, reply.body.error.code], [400, 'invalid_selector'], JSON.stringify(selector));
      }
      assert.equal((await remove(server, 'not json')).body.error.code, 'bad_json');
      assert.equal((await stats(server.url)).deleted, 0);
    } finally {
      await server.stop();
    }
  });
});
