import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { allEvents, event, publish, startServer, stats, makeTempDir, type TestEvent } from './helper.js';

describe('kill -9', () => {
  test('every event acknowledged before kill -9 is there after restart, and re-publishing gives exact counts', async () => {
    const dataDir = await makeTempDir();
    const server = await startServer({ dataDir, shards: 2 });
    const sent: TestEvent[][] = [];
    const acknowledged: TestEvent[] = [];
    let acknowledgedRequests = 0;
    let nextId = 0;
    let killed = false;
    const client = async (): Promise<void> => {
      while (!killed) {
        const batch = Array.from({ length: 1 + (nextId % 50) }, () => event({ topic: `crash.${nextId % 3}`, event_id: `c-${nextId++}` }));
        sent.push(batch);
        try {
          const reply = await publish(server.url, batch);
          if (reply.status === 200) {
            acknowledged.push(...batch);
            acknowledgedRequests++;
          }
        } catch {
          return; // the connection died with the server: this batch was never acknowledged
        }
      }
    };
    const clients = Array.from({ length: 6 }, client);
    // Kill while requests are certainly in flight: once enough were acknowledged, without waiting.
    while (acknowledgedRequests < 150) await new Promise((resolve) => setImmediate(resolve));
    killed = true;
    await server.crash();
    await Promise.all(clients);

    const restarted = await startServer({ dataDir, shards: 2 });
    const stored = new Set((await allEvents(restarted.url)).map((item) => `${item.topic}/${item.event_id}`));
    const lost = acknowledged.filter((item) => !stored.has(`${item.topic}/${item.event_id}`));
    assert.equal(lost.length, 0, `${lost.length} acknowledged events lost`);

    const everything = sent.flat();
    for (let offset = 0; offset < everything.length; offset += 500) {
      const reply = await publish(restarted.url, everything.slice(offset, offset + 500));
      assert.equal(reply.status, 200);
    }
    const final = await stats(restarted.url);
    assert.equal(final.unique_processed, everything.length, 'each distinct event counted unique exactly once');
    assert.equal(final.received, final.unique_processed + final.duplicate_dropped);
    assert.equal((await allEvents(restarted.url)).length, everything.length);
  });
});
