import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mulberry32 } from '../src/publisher/generate.js';
import { allEvents, event, publish, startServer, stats, type TestEvent } from './helper.js';

describe('the headline scenario', () => {
  test('5 000 events with 20 % duplicates, single and batched, give exact counts', async () => {
    const server = await startServer({ shards: 2 });
    const next = mulberry32(42); // deterministic, so a failure can be replayed
    const topics = ['auth.prod', 'payment.dev', 'search.prod'];
    const sent: TestEvent[] = [];
    const distinct = new Map<string, TestEvent>();
    for (let index = 0; index < 5000; index++) {
      const repeat = sent.length > 0 && next() < 0.2;
      const item = repeat ? sent[Math.floor(next() * sent.length)]! : event({ topic: topics[index % 3]!, event_id: `e-${index}`, payload: { index } });
      sent.push(item);
      distinct.set(`${item.topic}\u0000${item.event_id}`, item);
    }
    let acknowledged = { accepted: 0, unique: 0, duplicates: 0 };
    for (let offset = 0; offset < sent.length; ) {
      const size = next() < 0.3 ? 1 : 1 + Math.floor(next() * 400);
      const chunk = sent.slice(offset, offset + size);
      offset += size;
      const reply = await publish(server.url, chunk.length === 1 ? chunk[0] : chunk);
      assert.equal(reply.status, 200);
      acknowledged = {
        accepted: acknowledged.accepted + reply.body.accepted,
        unique: acknowledged.unique + reply.body.unique,
        duplicates: acknowledged.duplicates + reply.body.duplicates,
      };
    }
    const duplicates = sent.length - distinct.size;
    assert.deepEqual(acknowledged, { accepted: 5000, unique: distinct.size, duplicates });

    const final = await stats(server.url);
    assert.equal(final.received, 5000);
    assert.equal(final.unique_processed, distinct.size);
    assert.equal(final.duplicate_dropped, duplicates);
    assert.equal(final.received, final.unique_processed + final.duplicate_dropped);
    assert.deepEqual(final.topics, [...topics].sort());
    for (const topic of topics) {
      const stored = await allEvents(server.url, topic);
      const expected = [...distinct.values()].filter((item) => item.topic === topic);
      assert.equal(stored.length, expected.length, topic);
      assert.equal(final.topic_counts[topic].unique_processed, expected.length);
      for (const item of stored) assert.deepEqual(item.payload, distinct.get(`${topic}\u0000${item.event_id}`)!.payload);
    }
    const everything = await allEvents(server.url, undefined, 333);
    assert.equal(everything.length, distinct.size);
    assert.ok(everything.every((item, index) => index === 0 || item.seq > everything[index - 1].seq), 'ascending seq');
  });
});
