import assert from 'node:assert/strict';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { RingProducer } from '../src/ring/producer.js';
import { ShardDb } from '../src/store/shard-db.js';
import { event, publish, startServer, startTsWorker, stats, makeTempDir } from './helper.js';

const consumerFixture = new URL('./fixtures/ring-consumer.ts', import.meta.url);

function startConsumer(buffer: SharedArrayBuffer): Worker {
  return startTsWorker(consumerFixture, { buffer, take: false });
}

describe('invariant 1: one writer per shard', () => {
  test('a second thread cannot consume a ring while another holds it', async () => {
    const ring = new RingProducer(1 << 16);
    const first = startConsumer(ring.buffer);
    assert.deepEqual((await once(first, 'message'))[0], { claimed: true });

    const second = startConsumer(ring.buffer);
    assert.deepEqual((await once(second, 'message'))[0], { claimed: false, code: 'ring_claimed' });
    await second.terminate();

    first.postMessage('release');
    assert.deepEqual((await once(first, 'message'))[0], { released: true });
    const third = startConsumer(ring.buffer);
    assert.deepEqual((await once(third, 'message'))[0], { claimed: true }, 'a released ring can be claimed again');
    await Promise.all([first.terminate(), third.terminate()]);
  });

  test('a second writer connection fails at once instead of interleaving commits', async () => {
    const path = join(await makeTempDir(), 'shard-000.db');
    const owner = new ShardDb({ path, shard: 0, shardCount: 1, sync: 'normal' });
    const intruder = new ShardDb({ path, shard: 0, shardCount: 1, sync: 'normal' });
    const holder = new Database(path);
    holder.exec('BEGIN IMMEDIATE');
    const batch = { receivedAt: Date.now(), rejected: 0, wantsStatuses: false, events: [{ seq: 1, topic: 't', eventId: 'e', timestamp: 'x', source: 's', payload: '{}' }] };
    assert.throws(() => intruder.commit([batch]), { code: 'SQLITE_BUSY' });
    holder.exec('ROLLBACK');
    assert.equal(owner.commit([batch]).batches[0]!.inserted, 1);
    holder.close();
    intruder.close();
    owner.close();
  });

  test('a single shard under many concurrent clients commits everything with no overlapping drain', async () => {
    const server = await startServer({ shards: 1 });
    const replies = await Promise.all(
      Array.from({ length: 40 }, async (_, client) => {
        const statuses: number[] = [];
        for (let batch = 0; batch < 15; batch++) {
          const events = Array.from({ length: 20 }, (_, index) => event({ topic: 'one.shard', event_id: `${client}-${batch}-${index}` }));
          statuses.push((await publish(server.url, events)).status);
        }
        return statuses;
      }),
    );
    // An overlapping drain would trip the ring claim or SQLITE_BUSY: a failed commit, 503s, /health 503.
    assert.ok(replies.flat().every((status) => status === 200));
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
    const final = await stats(server.url);
    assert.equal(final.unique_processed, 40 * 15 * 20);
    assert.ok(final.shard_status[0].commits < 40 * 15, 'frames were group-committed');
  });
});
