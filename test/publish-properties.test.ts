/**
 * Property-based (fast-check): whatever the sequence of publishes — random duplicates within and
 * across requests and topics, random batch splits, JSON / NDJSON / msgpack, random concurrency —
 * the store holds exactly the distinct (topic, event_id) set, each reported "stored" by exactly one
 * request, the counters match, and /events pages return each event once, in seq order.
 * PROPERTY_RUNS (default 30) and PROPERTY_SEED make bigger or reproducible runs.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import fc from 'fast-check';
import { pack } from 'msgpackr';
import { allEvents, getJson, publish, startServer, stats, type TestEvent, type TestServer } from './helper.js';

const runs = Number(process.env.PROPERTY_RUNS ?? 30);
const seed = process.env.PROPERTY_SEED === undefined ? undefined : Number(process.env.PROPERTY_SEED);

const ids = ['a', 'b', 'c', 'evt-1', 'evt-2', 'é', '😀', 'x y', "o'brien", 'SELECT 1', '../x', '0', '00', 'A', 'a'.repeat(128), 'id.with.dots'];
const formats = ['json', 'ndjson', 'msgpack'] as const;

interface Scenario {
  /** Each pick is (topic index, id index): small domains, so repeats are common. */
  readonly picks: readonly [number, number][];
  /** Batch sizes, used in turn until the picks run out. */
  readonly sizes: readonly number[];
  readonly batchFormats: readonly (typeof formats)[number][];
  readonly concurrency: number;
  readonly pageLimit: number;
}

const scenario: fc.Arbitrary<Scenario> = fc.record({
  picks: fc.array(fc.tuple(fc.nat(2), fc.nat(ids.length - 1)), { minLength: 1, maxLength: 300, size: 'max' }),
  sizes: fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 10, size: 'max' }),
  batchFormats: fc.array(fc.constantFrom(...formats), { minLength: 1, maxLength: 5 }),
  concurrency: fc.integer({ min: 1, max: 8 }),
  pageLimit: fc.integer({ min: 1, max: 9 }),
});

function encode(batch: readonly TestEvent[], format: (typeof formats)[number]): { body: string | Buffer; contentType: string } {
  if (format === 'msgpack') return { body: Buffer.from(pack(batch)), contentType: 'application/msgpack' };
  if (format === 'ndjson') return { body: batch.map((item) => JSON.stringify(item)).join('\n'), contentType: 'application/x-ndjson' };
  return { body: JSON.stringify(batch), contentType: 'application/json' };
}

/** Runs `work` over `items` with at most `concurrency` in flight. */
async function pool<T>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        await work(items[index]!, index);
      }
    }),
  );
}

/** The cursor after the last event visible now, starting from `cursor`. */
async function tailEnd(url: string, cursor: string | null): Promise<string | null> {
  for (let page = 0; page < 10_000; page++) {
    const reply = await getJson(`${url}/events?limit=1000${cursor ? `&after=${cursor}` : ''}`);
    if (reply.body.count === 0) return cursor;
    cursor = reply.body.next;
  }
  throw new Error('the event log did not end');
}

describe('publish properties', () => {
  let server: TestServer;
  let run = 0;
  /** Tail cursor over all topics: every run's events come after it, and nothing else. */
  let cursor: string | null = null;
  let checkedEvents = 0;
  let checkedRequests = 0;

  before(async () => {
    server = await startServer({ shards: 3 });
  });

  test('the stored set is the distinct set, stored once each, counted exactly, paged once each in seq order', async (t) => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ picks, sizes, batchFormats, concurrency, pageLimit }) => {
        // A fresh namespace per run (also per shrink step): dedup is permanent, so runs must not share keys.
        const prefix = `prop${run++}`;
        const sent: TestEvent[] = picks.map(([topic, id], occurrence) => ({
          topic: `${prefix}.t${topic}`,
          event_id: ids[id]!,
          timestamp: '2025-10-22T10:30:00Z',
          source: 'property',
          payload: { occurrence },
        }));
        const batches: { events: TestEvent[]; format: (typeof formats)[number] }[] = [];
        for (let offset = 0, turn = 0; offset < sent.length; turn++) {
          const size = sizes[turn % sizes.length]!;
          batches.push({ events: sent.slice(offset, offset + size), format: batchFormats[turn % batchFormats.length]! });
          offset += size;
        }
        const distinct = new Map<string, TestEvent[]>();
        for (const item of sent) distinct.set(`${item.topic}/${item.event_id}`, [...(distinct.get(`${item.topic}/${item.event_id}`) ?? []), item]);
        cursor = await tailEnd(server.url, cursor); // skip whatever a failed (shrinking) run left
        const before = await stats(server.url);

        // Publish with the scenario's concurrency; every answer must be a 200 with a verdict per event.
        const storedBy = new Map<string, TestEvent[]>();
        let uniqueReported = 0;
        await pool(batches, concurrency, async ({ events, format }) => {
          const { body, contentType } = encode(events, format);
          const reply = await publish(server.url, body, { contentType, query: '?results=1' });
          assert.equal(reply.status, 200, JSON.stringify(reply.body));
          assert.equal(reply.body.accepted, events.length);
          assert.equal(reply.body.unique + reply.body.duplicates, reply.body.accepted);
          assert.equal(reply.body.results.length, events.length);
          uniqueReported += reply.body.unique;
          reply.body.results.forEach((result: { topic: string; event_id: string; status: string }, index: number) => {
            assert.equal(result.topic, events[index]!.topic);
            assert.equal(result.event_id, events[index]!.event_id);
            if (result.status === 'stored') storedBy.set(`${result.topic}/${result.event_id}`, [...(storedBy.get(`${result.topic}/${result.event_id}`) ?? []), events[index]!]);
          });
          checkedRequests++;
        });

        // Exactly one "stored" per distinct key, across all concurrent requests.
        assert.equal(uniqueReported, distinct.size, 'unique over all answers == distinct keys');
        assert.deepEqual([...storedBy.keys()].sort(), [...distinct.keys()].sort());
        for (const [key, winners] of storedBy) assert.equal(winners.length, 1, `${key} reported stored ${winners.length} times`);

        // Counters moved by exactly this run, globally and per topic.
        const after = await stats(server.url);
        assert.equal(after.received - before.received, sent.length);
        assert.equal(after.unique_processed - before.unique_processed, distinct.size);
        assert.equal(after.duplicate_dropped - before.duplicate_dropped, sent.length - distinct.size);
        assert.equal(after.received, after.unique_processed + after.duplicate_dropped);
        for (const topic of new Set(sent.map((item) => item.topic))) {
          const ofTopic = sent.filter((item) => item.topic === topic);
          const distinctOfTopic = new Set(ofTopic.map((item) => item.event_id)).size;
          assert.deepEqual(after.topic_counts[topic], { received: ofTopic.length, unique_processed: distinctOfTopic, duplicate_dropped: ofTopic.length - distinctOfTopic });
        }

        // Per topic, paged with a small limit: each stored event once, ascending seq, the winner's payload.
        for (const topic of new Set(sent.map((item) => item.topic))) {
          const stored = await allEvents(server.url, topic, pageLimit);
          const keys = stored.map((item) => `${item.topic}/${item.event_id}`);
          assert.equal(new Set(keys).size, keys.length, `${topic}: an event was paged twice`);
          assert.deepEqual(keys.sort(), [...distinct.keys()].filter((key) => key.startsWith(`${topic}/`)).sort());
          for (let index = 1; index < stored.length; index++) assert.ok(stored[index].seq > stored[index - 1].seq, `${topic}: seq not ascending`);
          for (const item of stored) assert.deepEqual(item.payload, storedBy.get(`${item.topic}/${item.event_id}`)![0]!.payload, 'the stored copy is the one reported stored');
        }

        // Across all topics, from the cursor left by the previous run: exactly this run's events.
        const tail: { topic: string; event_id: string; seq: number }[] = [];
        for (let page = 0; page < 10_000; page++) {
          const params = new URLSearchParams({ limit: String(pageLimit * 37) });
          if (cursor) params.set('after', cursor);
          const reply = await getJson(`${server.url}/events?${params}`);
          assert.equal(reply.status, 200);
          if (reply.body.count === 0) break;
          tail.push(...reply.body.events);
          cursor = reply.body.next;
        }
        assert.deepEqual(tail.map((item) => `${item.topic}/${item.event_id}`).sort(), [...distinct.keys()].sort(), 'the tail holds exactly this run');
        for (let index = 1; index < tail.length; index++) assert.ok(tail[index]!.seq > tail[index - 1]!.seq, 'tail seq not ascending');
        assert.ok(after.watermark_seq >= Math.max(...tail.map((item) => item.seq)), 'the watermark covers every acknowledged event');
        checkedEvents += sent.length;
      }),
      { numRuns: runs, ...(seed === undefined ? {} : { seed }) },
    );
    t.diagnostic(`${run} runs, ${checkedRequests} requests, ${checkedEvents} events checked`);
  });
});
