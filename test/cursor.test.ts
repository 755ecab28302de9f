import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { allEvents, event, getJson, publish, startServer } from './helper.js';

async function tailUntil(url: string, done: () => boolean, topic?: string): Promise<any[]> {
  const seen: any[] = [];
  let after: string | null = null;
  for (;;) {
    const finished = done(); // read before the page, so a final empty page comes after the last publish
    const params = new URLSearchParams({ limit: '37' });
    if (after) params.set('after', after);
    if (topic) params.set('topic', topic);
    const page = await getJson(`${url}/events?${params}`);
    assert.equal(page.status, 200);
    seen.push(...page.body.events);
    if (page.body.count > 0) after = page.body.next;
    else {
      assert.equal(page.body.next, null, 'an empty page has no cursor');
      if (finished) return seen;
    }
  }
}

describe('GET /events cursor', () => {
  test('paging while publishing goes on yields every event exactly once, in seq order', async () => {
    const server = await startServer({ shards: 3 });
    let publishing = true;
    const publishers = Array.from({ length: 4 }, async (_, client) => {
      for (let batch = 0; batch < 40; batch++) {
        const size = 1 + ((client + batch) % 20);
        const events = Array.from({ length: size }, (_, index) => event({ topic: `cursor.${index % 2}`, event_id: `p${client}-${batch}-${index}` }));
        assert.equal((await publish(server.url, events)).status, 200);
      }
    });
    const everything = tailUntil(server.url, () => !publishing);
    const oneTopic = tailUntil(server.url, () => !publishing, 'cursor.1');
    await Promise.all(publishers);
    publishing = false;

    const expected = await allEvents(server.url);
    for (const [seen, filter] of [[await everything, null], [await oneTopic, 'cursor.1']] as const) {
      const want = expected.filter((item) => filter === null || item.topic === filter);
      assert.deepEqual(seen.map((item) => item.seq), want.map((item) => item.seq), `topic ${filter}`);
      assert.ok(seen.every((item, index) => index === 0 || item.seq > seen[index - 1].seq));
    }
  });

  test('bad limit and after values are 400', async () => {
    const server = await startServer({ shards: 1 });
    await publish(server.url, event());
    for (const query of ['limit=0', 'limit=1001', 'limit=abc', 'limit=-1', 'after=garbage', 'after=djE6', 'topic=../x']) {
      const reply = await getJson(`${server.url}/events?${query}`);
      assert.equal(reply.status, 400, query);
      assert.equal(reply.body.error.code, 'invalid_query', query);
    }
    const page = await getJson(`${server.url}/events?limit=1000`);
    assert.equal(page.body.count, 1);
    assert.equal(typeof page.body.next, 'string');
    const tail = await getJson(`${server.url}/events?after=${page.body.next}`);
    assert.deepEqual([tail.body.count, tail.body.next, tail.body.events], [0, null, []]);
    await publish(server.url, event({ event_id: 'later' }));
    const resumed = await getJson(`${server.url}/events?after=${page.body.next}`);
    assert.deepEqual(resumed.body.events.map((item: { event_id: string }) => item.event_id), ['later'], 'the cursor is tail-able');
  });

  test('the cursor in /stats means "after everything committed so far"', async () => {
    const server = await startServer({ shards: 2 });
    await publish(server.url, [event({ event_id: 'old-1' }), event({ event_id: 'old-2' })]);
    const { cursor } = (await getJson(`${server.url}/stats`)).body;
    assert.equal(typeof cursor, 'string');
    assert.deepEqual((await getJson(`${server.url}/events?after=${cursor}`)).body.events, []);
    await publish(server.url, event({ event_id: 'new-1' }));
    const page = await getJson(`${server.url}/events?after=${cursor}`);
    assert.deepEqual(page.body.events.map((item: { event_id: string }) => item.event_id), ['new-1']);
  });
});
