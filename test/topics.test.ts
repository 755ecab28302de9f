/**
 * Many topics: /stats stays bounded (the largest topics, flagged), /topics pages through all of
 * them with exact counts (by name with a prefix, or by volume), and /metrics keeps per-topic series
 * for the largest only, the rest summed under topic="_other" with the totals still exact.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { event, getJson, publish, startServer, stats, type TestServer } from './helper.js';

const kTopics = 240;
// Topic i gets (i % 37) + 1 events, and its first event once more as a duplicate.
const name = (index: number): string => `svc-${String(index).padStart(3, '0')}.${index % 2 === 0 ? 'prod' : 'dev'}`;
const volume = (index: number): number => (index % 37) + 1;

describe('many topics', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ shards: 3, args: ['--stats-topics', '50', '--metrics-topics', '5'] });
    const events = Array.from({ length: kTopics }, (_, index) => [
      ...Array.from({ length: volume(index) }, (_, n) => event({ topic: name(index), event_id: `e${n}` })),
      event({ topic: name(index), event_id: 'e0' }),
    ]).flat();
    for (let start = 0; start < events.length; start += 1000) assert.equal((await publish(server.url, events.slice(start, start + 1000))).status, 200);
  });
  after(async () => {
    await server.stop();
  });

  const byVolume = () =>
    Array.from({ length: kTopics }, (_, index) => index).sort((a, b) => volume(b) - volume(a) || (name(a) < name(b) ? -1 : 1));

  test('/stats lists only the largest topics past --stats-topics, and says so', async () => {
    const now = await stats(server.url);
    assert.equal(now.topics_truncated, true);
    assert.equal(now.topic_count, kTopics);
    assert.equal(now.topics.length, 50);
    assert.deepEqual(now.topics, [...now.topics].sort(), 'by name');
    const smallestListed = Math.min(...now.topics.map((topic: string) => now.topic_counts[topic].unique_processed));
    const largestLeftOut = Math.max(...byVolume().slice(50).map(volume));
    assert.ok(smallestListed >= largestLeftOut, 'the largest ones');
    for (const topic of now.topics) {
      const index = Number(topic.slice(4, 7));
      assert.deepEqual(now.topic_counts[topic], { received: volume(index) + 1, unique_processed: volume(index), duplicate_dropped: 1 });
    }
    assert.equal(now.received, Array.from({ length: kTopics }, (_, index) => volume(index) + 1).reduce((a, b) => a + b), 'totals stay exact');
  });

  test('/topics by name pages through every topic with exact counts; a prefix narrows it', async () => {
    const seen: any[] = [];
    let after: string | null = null;
    for (;;) {
      const page: { status: number; body: any } = await getJson(`${server.url}/topics?limit=17${after ? `&after=${after}` : ''}`);
      assert.equal(page.status, 200);
      seen.push(...page.body.topics);
      if (page.body.next === null) break;
      after = page.body.next;
    }
    assert.deepEqual(seen.map((row) => row.topic), Array.from({ length: kTopics }, (_, index) => name(index)).sort());
    for (const row of seen) {
      const index = Number(row.topic.slice(4, 7));
      assert.deepEqual(row, { topic: name(index), received: volume(index) + 1, unique_processed: volume(index), duplicate_dropped: 1, stored: volume(index), expired: 0, deleted: 0 });
    }
    const prefixed = await getJson(`${server.url}/topics?prefix=svc-01&limit=1000`);
    assert.deepEqual(prefixed.body.topics.map((row: any) => row.topic), Array.from({ length: 10 }, (_, index) => name(10 + index)).sort());
    assert.equal((await getJson(`${server.url}/topics?prefix=nothing`)).body.count, 0);
    for (const bad of ['sort=size', 'limit=0', 'prefix=a%20b', 'sort=volume&after=x']) assert.equal((await getJson(`${server.url}/topics?${bad}`)).body.error.code, 'invalid_query', bad);
  });

  test('/topics by volume: the largest first, paged by offset', async () => {
    const first = await getJson(`${server.url}/topics?sort=volume&limit=30`);
    const second = await getJson(`${server.url}/topics?sort=volume&limit=30&after=${first.body.next}`);
    const received = [...first.body.topics, ...second.body.topics].map((row: any) => row.received);
    assert.deepEqual(received, byVolume().slice(0, 60).map((index) => volume(index) + 1));
  });

  test('/metrics: series for the largest --metrics-topics, the rest under topic="_other", sums exact', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const series = [...text.matchAll(/^aggregator_events_received_total\{topic="([^"]+)"\} (\d+)$/gm)];
    assert.equal(series.length, 6);
    assert.equal(series.at(-1)![1], '_other');
    const sum = series.reduce((total, match) => total + Number(match[2]), 0);
    assert.equal(sum, (await stats(server.url)).received);
  });
});
