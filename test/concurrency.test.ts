import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { allEvents, event, publish, startServer, stats } from './helper.js';

describe('concurrent clients', () => {
  test('50 clients publishing the same event at once store it once', async () => {
    const server = await startServer({ shards: 2 });
    const replies = await Promise.all(Array.from({ length: 50 }, () => publish(server.url, event({ topic: 'race', event_id: 'same' }))));
    assert.ok(replies.every((reply) => reply.status === 200));
    assert.equal(replies.reduce((sum, reply) => sum + reply.body.unique, 0), 1);
    assert.equal(replies.reduce((sum, reply) => sum + reply.body.duplicates, 0), 49);
    assert.equal((await allEvents(server.url, 'race')).length, 1);
  });

  test('interleaved overlapping batches from many clients give exact counts', async () => {
    const server = await startServer({ shards: 3 });
    const clients = 20;
    const batches = 10;
    // Client c sends ids c*50 .. c*50+99 in batches: each id is sent by two neighbouring clients.
    const work = Array.from({ length: clients }, async (_, client) => {
      let unique = 0;
      for (let batch = 0; batch < batches; batch++) {
        const ids = Array.from({ length: 10 }, (_, offset) => (client * 50 + batch * 10 + offset) % (clients * 50));
        const reply = await publish(server.url, ids.map((id) => event({ topic: `mix.${id % 4}`, event_id: `id-${id}` })));
        assert.equal(reply.status, 200);
        unique += reply.body.unique;
      }
      return unique;
    });
    const unique = (await Promise.all(work)).reduce((sum, count) => sum + count, 0);
    const sent = clients * batches * 10;
    const distinct = clients * 50;
    assert.equal(unique, distinct);
    const final = await stats(server.url);
    assert.equal(final.received, sent);
    assert.equal(final.unique_processed, distinct);
    assert.equal(final.duplicate_dropped, sent - distinct);
    assert.equal((await allEvents(server.url)).length, distinct);
  });
});
