import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { shardPath } from '../src/store/data-dir.js';
import { allEvents, event, getJson, publish, startServer, makeTempDir, waitFor, type TestEvent } from './helper.js';

describe('lifecycle', () => {
  test('SIGTERM answers every accepted request, commits it, and exits 0', async () => {
    const dataDir = await makeTempDir();
    const server = await startServer({ dataDir, shards: 2 });
    const acknowledged: TestEvent[] = [];
    let started = 0;
    let stopping = false;
    const clients = Array.from({ length: 8 }, async (_, client) => {
      for (let batch = 0; !stopping || batch < 3; batch++) {
        const events = Array.from({ length: 200 }, (_, index) => event({ topic: 'drain', event_id: `${client}-${batch}-${index}` }));
        started++;
        try {
          const reply = await publish(server.url, events);
          if (reply.status === 200) acknowledged.push(...events);
          else assert.equal(reply.status, 503, 'during shutdown a request is either committed or refused');
        } catch {
          return; // the listener closed: refused before anything was read
        }
        if (stopping) return;
      }
    });
    while (started < 40) await new Promise((resolve) => setImmediate(resolve));
    const exit = server.stop('SIGTERM');
    stopping = true;
    assert.equal((await exit).code, 0);
    await Promise.all(clients);

    const restarted = await startServer({ dataDir, shards: 2 });
    const stored = new Set((await allEvents(restarted.url, 'drain')).map((item) => item.event_id));
    assert.ok(acknowledged.length > 0);
    assert.equal(acknowledged.filter((item) => !stored.has(item.event_id)).length, 0, 'an acknowledged event was lost');
  });

  test('a shard that cannot commit answers 503, turns /health to 503, and recovers', async () => {
    const dataDir = await makeTempDir();
    const server = await startServer({ dataDir, shards: 1, args: ['--shard-retry-ms', '200'] });
    assert.equal((await publish(server.url, event({ event_id: 'before' }))).status, 200);

    // Another process's write lock: the shard writer waits for nobody, so its commit fails.
    const intruder = new Database(shardPath(dataDir, 0));
    intruder.exec('BEGIN IMMEDIATE');
    const refused = await publish(server.url, event({ event_id: 'during' }));
    assert.equal(refused.status, 503);
    assert.equal(refused.body.error.code, 'overloaded');
    assert.ok(refused.headers.get('retry-after'));
    const health = await getJson(`${server.url}/health`);
    assert.equal(health.status, 503);
    assert.match(health.body.reason, /shard 0/);
    assert.equal((await publish(server.url, event({ event_id: 'still-failed' }))).status, 503, 'a failed shard refuses writes');

    intruder.exec('ROLLBACK');
    intruder.close();
    // The shard probes itself after --shard-retry-ms; wait for /health to say so.
    await waitFor(async () => (await getJson(`${server.url}/health`)).status === 200, 'the shard to recover');
    assert.equal((await publish(server.url, event({ event_id: 'after' }))).status, 200);
    assert.deepEqual((await allEvents(server.url)).map((item) => item.event_id), ['before', 'after']);
  });
});
