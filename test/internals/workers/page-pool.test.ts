import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { OverloadedError } from '../../../src/errors.js';
import type { PageQuery, TopicQuery } from '../../../src/ingest/storage.js';
import { parseSearchQuery } from '../../../src/search/query.js';
import type { HistogramQuery, SearchPageQuery, TopQuery } from '../../../src/search/request.js';
import { mergePageParts, mergeSearchParts, mergeTopicParts, renderEvents } from '../../../src/store/read-parts.js';
import { mergeHistogram } from '../../../src/store/search-counts.js';
import { mergeTop } from '../../../src/store/search-top.js';
import { sampleShards, type SampleShards } from '../store/sample-shards.js';
import { useBuiltWorkers } from './built-workers.js';

// PagePool over the built reader threads (dist/: run npm run build first), on three shard files.
useBuiltWorkers();
const { PagePool } = await import('../../../src/workers/page-pool.js');

const kShards = 3;
let sample: SampleShards;
let pool: InstanceType<typeof PagePool>;

before(async () => {
  sample = await sampleShards({ shards: kShards, events: 200, wordIndexed: 30 });
  pool = new PagePool({ dataDir: sample.dir, shards: kShards, readers: 2 });
  await pool.ready();
});

after(async () => {
  await pool.destroy();
  sample.close();
});

const shards = Array.from({ length: kShards }, (_, shard) => shard);
const filter = { query: parseSearchQuery('alpha OR gamma'), topic: 'topic.*', sinceMs: Date.parse('2025-10-22T10:10:00Z'), untilMs: Date.parse('2025-10-22T10:50:00Z') };

describe('PagePool parts', () => {
  test('page, search and topics parts, merged, are the whole reads', async () => {
    for (const query of [
      { topic: null, filter: null, afterSeq: 10, maxSeq: 180, limit: 7 },
      { topic: 'topic.b', filter: null, search: parseSearchQuery('beta'), afterSeq: 0, maxSeq: 200, limit: 50 },
    ] satisfies PageQuery[]) {
      const merged = mergePageParts(await pool.pageParts(shards, query), query);
      const whole = await pool.page(query);
      assert.deepEqual([renderEvents(merged.rows), merged.rows.length, merged.through, merged.partial], [whole.eventsJson, whole.count, whole.through, whole.partial]);
    }
    // Asked one shard at a time, the parts are the same.
    const one: PageQuery = { topic: null, filter: null, afterSeq: 10, maxSeq: 180, limit: 7 };
    assert.deepEqual((await Promise.all(shards.map((shard) => pool.pageParts([shard], one)))).flat(), await pool.pageParts(shards, one));
    for (const order of ['asc', 'desc'] as const) {
      const query: SearchPageQuery = { ...filter, order, after: null, maxSeq: 190, limit: 5, maxRows: 20, timeoutMs: 60_000 };
      const merged = mergeSearchParts(await pool.searchParts(shards, query), query);
      const whole = await pool.search(query);
      assert.deepEqual([renderEvents(merged.rows), merged.next, merged.partial], [whole.eventsJson, whole.next, whole.partial]);
    }
    const topics: TopicQuery = { after: 'other.x', prefix: null, limit: 2 };
    assert.deepEqual(mergeTopicParts(await pool.topicsParts(shards, topics), topics.limit), await pool.topics(topics));
  });

  test('histogram and top parts each read a share of the rows bound, and merge to the whole', async () => {
    const bounds = { maxRows: 100, timeoutMs: 60_000, maxSeq: 200 };
    const histogram: HistogramQuery = { ...filter, ...bounds, buckets: 4, stepMs: 600_000, by: { kind: 'source' } };
    const histogramParts = await Promise.all(shards.map((shard) => pool.histogramPart(shard, histogram)));
    assert.deepEqual(mergeHistogram(histogram, histogramParts), await pool.histogram(histogram));
    const top: TopQuery = { ...filter, ...bounds, field: { kind: 'payload', path: ['kind'] }, limit: 2 };
    const topParts = await Promise.all(shards.map((shard) => pool.topPart(shard, top)));
    assert.deepEqual(mergeTop('payload.kind', top.limit, topParts), await pool.top(top));
    // A bound of three rows is one a shard: none gets through its range, and none counts more than its row.
    const tight = await Promise.all(shards.map((shard) => pool.topPart(shard, { ...top, maxRows: 3 })));
    for (const part of tight) assert.ok(part.partial && part.total <= 1);
  });

  test('parts queue with every other read: past the bound they are refused as overloaded', async () => {
    const query: PageQuery = { topic: null, filter: null, afterSeq: 0, maxSeq: 200, limit: 1000 };
    const settled = await Promise.allSettled(Array.from({ length: 1000 }, (_, index) => pool.pageParts([index % kShards], query)));
    const refused = settled.filter((outcome) => outcome.status === 'rejected');
    assert.ok(refused.length > 0 && refused.length < settled.length);
    for (const outcome of refused) assert.ok(outcome.reason instanceof OverloadedError);
  });
});
