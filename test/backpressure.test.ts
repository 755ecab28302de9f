import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { allEvents, event, publish, startServer, stats } from './helper.js';

describe('backpressure', () => {
  test('a burst into a tiny ring gets 503 + Retry-After, and every acknowledged event is stored', async () => {
    const server = await startServer({ shards: 2, args: ['--ring-bytes', '65536', '--retry-after', '2'] });
    const acknowledged = new Set<string>();
    const refused = new Set<string>();
    let overloaded = 0;
    for (let round = 0; round < 30 && overloaded === 0; round++) {
      const replies = await Promise.all(
        Array.from({ length: 40 }, async (_, client) => {
          const batch = Array.from({ length: 100 }, (_, index) => event({ topic: 'burst', event_id: `r${round}-c${client}-${index}`, payload: { pad: 'p'.repeat(100) } }));
          const reply = await publish(server.url, batch);
          const target = reply.status === 200 ? acknowledged : refused;
          for (const item of batch) target.add(item.event_id);
          return reply;
        }),
      );
      for (const reply of replies) {
        assert.ok(reply.status === 200 || reply.status === 503, `status ${reply.status}`);
        if (reply.status === 503) {
          overloaded++;
          assert.equal(reply.body.error.code, 'overloaded');
          assert.equal(reply.headers.get('retry-after'), '2');
        }
      }
    }
    assert.ok(overloaded > 0, 'the burst was never refused: the ring is not bounded');
    const stored = new Set((await allEvents(server.url, 'burst')).map((item) => item.event_id));
    for (const id of acknowledged) assert.ok(stored.has(id), `acknowledged ${id} missing`);
    for (const id of refused) assert.ok(!stored.has(id), `refused ${id} was stored: a 503 must queue nothing`);
    const final = await stats(server.url);
    assert.equal(final.received, acknowledged.size);
    assert.equal((await fetch(`${server.url}/health`)).status, 200, 'backpressure is not a failure');
  });

  test('a batch no ring could ever hold is 413, not a 503 to retry forever', async () => {
    const server = await startServer({ shards: 1, args: ['--ring-bytes', '65536'] });
    for (const count of [300, 1000]) {
      const batch = Array.from({ length: count }, (_, index) => event({ topic: 'huge', event_id: `h${count}-${index}`, payload: { pad: 'p'.repeat(200) } }));
      const reply = await publish(server.url, batch);
      assert.equal(reply.status, 413, `${count} events`);
      assert.equal(reply.body.error.code, 'too_large');
    }
    assert.equal((await stats(server.url)).received, 0);
  });
});
