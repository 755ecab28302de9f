import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { allEvents, event, getJson, publish, makeTempDir, waitFor } from './helper.js';

const crashingWorker = fileURLToPath(new URL('./fixtures/crashing-shard-worker.mjs', import.meta.url));
// The built service, in this process: its worker files resolve inside dist/, as in production.
const distIndex = new URL('../dist/index.js', import.meta.url).href;
const { Aggregator, resolveConfig } = (await import(distIndex)) as typeof import('../src/index.js');

describe('a shard thread that dies', () => {
  test('is reported, turns /health to 503, is replaced, and loses no acknowledged event', async () => {
    const dataDir = await makeTempDir();
    const aggregator = await Aggregator.start(resolveConfig({ dataDir, port: 0, host: '127.0.0.1', shards: 1, shardRetryMs: 100 }), {
      shardWorkerFile: crashingWorker,
    });
    const url = `http://127.0.0.1:${aggregator.port}`;
    try {
      assert.equal((await publish(url, event({ event_id: 'before' }))).status, 200);

      await writeFile(join(dataDir, 'crash-next-commit'), '');
      const lost = await publish(url, event({ event_id: 'during' }));
      assert.equal(lost.status, 503, 'the frame whose thread died is not acknowledged');
      assert.equal(lost.body.error.code, 'overloaded');
      const health = await getJson(`${url}/health`);
      assert.equal(health.status, 503);
      assert.match(health.body.reason, /shard 0/);

      await waitFor(async () => (await getJson(`${url}/health`)).status === 200, 'the replacement thread to take over');
      assert.equal((await publish(url, event({ event_id: 'after' }))).status, 200);
      assert.equal((await publish(url, event({ event_id: 'during' }))).body.unique, 1, 'the retry of the refused event stores it');
      assert.deepEqual((await allEvents(url)).map((item) => item.event_id), ['before', 'after', 'during']);
      const stats = (await getJson(`${url}/stats`)).body;
      assert.equal(stats.received, stats.unique_processed + stats.duplicate_dropped);
    } finally {
      await aggregator.close();
    }
  });

  test('killed in the middle of its transaction under load, again and again: every acknowledged event is stored once', { timeout: 120_000 }, async () => {
    const dataDir = await makeTempDir();
    const aggregator = await Aggregator.start(resolveConfig({ dataDir, port: 0, host: '127.0.0.1', shards: 2, shardRetryMs: 20 }), {
      shardWorkerFile: crashingWorker,
    });
    const url = `http://127.0.0.1:${aggregator.port}`;
    const acknowledged = new Set<string>();
    let refused = 0;
    let publishing = true;
    // Four at-least-once clients: each batch is retried until it is acknowledged.
    const clients = Array.from({ length: 4 }, async (_, client) => {
      for (let batch = 0; publishing || batch < 5; batch++) {
        const events = Array.from({ length: 50 }, (_, index) => event({ topic: `t${index % 3}`, event_id: `${client}-${batch}-${index}` }));
        for (;;) {
          const answer = await publish(url, events);
          if (answer.status === 200) break;
          assert.equal(answer.status, 503);
          refused++;
        }
        for (const item of events) acknowledged.add(item.event_id);
      }
    });
    const kills = 6;
    for (let kill = 0; kill < kills; kill++) {
      await writeFile(join(dataDir, 'crash-next-commit'), '');
      await waitFor(async () => !existsSync(join(dataDir, 'crash-next-commit')), 'a commit to hit the fault');
      await waitFor(async () => (await getJson(`${url}/health`)).status === 200, 'the replacement thread to take over');
    }
    publishing = false;
    await Promise.all(clients);
    try {
      assert.ok(refused > 0, 'the deaths cost some requests a 503');
      const stored = (await allEvents(url)).map((item) => item.event_id);
      assert.equal(new Set(stored).size, stored.length, 'no event is stored twice');
      const missing = [...acknowledged].filter((id) => !stored.includes(id));
      assert.deepEqual(missing, [], 'every acknowledged event is stored');
      const stats = (await getJson(`${url}/stats`)).body;
      assert.equal(stats.unique_processed, stored.length);
      assert.equal(stats.received, stats.unique_processed + stats.duplicate_dropped);
    } finally {
      await aggregator.close();
    }
  });
});
