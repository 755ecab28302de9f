import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { event, fetchMessages, groupCall, makeTempDir, publish, startServer } from './helper.js';

describe('consumer groups under kill -9', () => {
  test('20 kill -9 while 4 consumers fetch, ack and sometimes nak: every event delivered, none after its ack was answered, all acked, counts exact', async () => {
    const dataDir = await makeTempDir();
    const delivered = new Set<string>();
    const ackAnswered = new Map<string, number>();
    let published = 0;
    let violations: string[] = [];
    for (let cycle = 0; cycle < 20; cycle++) {
      const server = await startServer({ dataDir });
      if (cycle === 0) assert.equal((await groupCall(server.url, 'work', '', { topics: 'jobs.*', ack_wait_ms: 300, backoff_ms: [], max_deliver: 1000 })).status, 201);
      const batch = Array.from({ length: 100 }, (_, index) => event({ topic: `jobs.${index % 3}`, event_id: `j${published + index}` }));
      assert.equal((await publish(server.url, batch)).status, 200);
      published += batch.length;
      let acksThisCycle = 0;
      let dead = false;
      const consumer = async (index: number): Promise<void> => {
        while (!dead) {
          try {
            // Whatever this fetch gets was granted after it began.
            const asked = Date.now();
            const messages = await fetchMessages(server.url, 'work', 20, 100);
            for (const message of messages) {
              const key = message.event.event_id;
              if ((ackAnswered.get(key) ?? Infinity) < asked) violations.push(`${key} delivered again (count ${message.delivery_count}) after its ack was answered`);
              delivered.add(key);
            }
            // One consumer in four naks a tenth of what it takes.
            const nak = messages.filter((_, position) => index === 0 && position % 10 === 0);
            const ack = messages.filter((message) => !nak.includes(message));
            if (nak.length > 0) await groupCall(server.url, 'work', 'nak', { ids: nak.map((message) => message.id), delay_ms: 0 });
            const reply = await groupCall(server.url, 'work', 'ack', { ids: ack.map((message) => message.id) });
            for (const result of reply.body.results as { id: string; status: string }[]) {
              if (result.status !== 'acked') continue;
              ackAnswered.set(ack.find((message) => message.id === result.id)!.event.event_id, Date.now());
              acksThisCycle++;
            }
          } catch {
            return; // the server died under this request: whatever it was, it was not answered
          }
        }
      };
      const consumers = Array.from({ length: 4 }, (_, index) => consumer(index));
      // Kill mid-stream: once this cycle has had some acks answered, without waiting for the rest.
      while (acksThisCycle < 40 && ackAnswered.size < published) await new Promise((resolve) => setImmediate(resolve));
      dead = true;
      await server.crash();
      await Promise.all(consumers);
    }
    const server = await startServer({ dataDir });
    try {
      // Drain: what was in flight at the last kill comes back after its ack wait.
      for (let round = 0; round < 100; round++) {
        const state = (await groupCall(server.url, 'work', '')).body.state;
        if (state.pending === 0 && state.lag === 0) break;
        const asked = Date.now();
        const messages = await fetchMessages(server.url, 'work', 100, 500);
        for (const message of messages) {
          if ((ackAnswered.get(message.event.event_id) ?? Infinity) < asked) violations.push(`${message.event.event_id} delivered again after its ack was answered`);
          delivered.add(message.event.event_id);
        }
        const reply = await groupCall(server.url, 'work', 'ack', { ids: messages.map((message) => message.id) });
        for (const result of reply.body.results as { id: string; status: string }[]) if (result.status === 'acked') ackAnswered.set(messages.find((message) => message.id === result.id)!.event.event_id, Date.now());
      }
      assert.deepEqual(violations, []);
      assert.equal(delivered.size, published, 'every event delivered at least once');
      const state = (await groupCall(server.url, 'work', '')).body.state;
      assert.equal(state.acked, published, 'every event acked once, by the server count');
      assert.equal(state.pending, 0);
      assert.equal(state.lag, 0);
      assert.equal(state.delivered, published, 'first deliveries counted once each');
      assert.ok(ackAnswered.size <= published && ackAnswered.size >= published - 20 * 4 * 20, `acks answered: ${ackAnswered.size}`);
      violations = [];
    } finally {
      await server.stop();
    }
  });
});
