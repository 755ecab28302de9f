import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { event, publish, startServer, stats } from './helper.js';

// The ring and store sides of invariant 1 are unit tests: test/internals/ring/consumer.test.ts,
// test/internals/store/shard-db.test.ts.
describe('invariant 1: one writer per shard', () => {
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
