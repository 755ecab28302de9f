import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Piscina } from 'piscina';
import type { Page, PageQuery, SearchResult, TopicQuery, TopicRow } from '../../../src/ingest/storage.js';
import type { SearchPageQuery } from '../../../src/search/request.js';
import { shardPath } from '../../../src/store/data-dir.js';
import { mergePageParts, mergeSearchParts, mergeTopicParts, renderEvents, type PagePart, type SearchPart } from '../../../src/store/read-parts.js';
import { ShardDb } from '../../../src/store/shard-db.js';
import type { SnapshotFile } from '../../../src/store/shard-snapshot.js';
import type { PageWorkerData } from '../../../src/workers/protocol.js';
import { batch } from '../store/batch.js';

// The reader threads as PagePool runs them (one here), on two shard files in a temp dir.
const dir = mkdtempSync(join(tmpdir(), 'page-worker-'));
let pool: Piscina;

before(() => {
  const shards = [0, 1].map((shard) => new ShardDb({ path: shardPath(dir, shard), shard, shardCount: 2 }));
  shards[0]!.commit([batch([[1, 'a1'], [4, 'a4'], [6, 'b6']])]);
  shards[1]!.commit([batch([[2, 'a2'], [3, 'b3'], [5, 'a5']])]);
  shards[1]!.commit([batch([[7, 'a2']])]); // a duplicate of a2: counted, not stored
  for (const shard of shards) shard.close();
  const workerData: PageWorkerData = { dataDir: dir, shardCount: 2 };
  pool = new Piscina({ filename: new URL('./page-worker-entry.mjs', import.meta.url).href, minThreads: 1, maxThreads: 1, workerData });
});

after(async () => {
  await pool.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const page = (query: Partial<PageQuery>): Promise<Page> => pool.run({ topic: null, filter: null, afterSeq: 0, maxSeq: 100, limit: 10, ...query }, { name: 'page' }) as Promise<Page>;

describe('page worker', () => {
  test('a page is the events of every shard in seq order, rendered as JSON, with its last seq', async () => {
    const result = await page({});
    const events = JSON.parse(result.eventsJson) as { seq: number; event_id: string; topic: string; payload: unknown; received_at: string }[];
    assert.deepEqual(events.map((event) => [event.seq, event.event_id]), [[1, 'a1'], [2, 'a2'], [3, 'b3'], [4, 'a4'], [5, 'a5'], [6, 'b6']]);
    assert.deepEqual(events[0]!.payload, { seq: 1 });
    assert.equal(events[0]!.received_at, new Date(1_700_000_000_000).toISOString());
    assert.equal(result.count, 6);
    assert.equal(result.lastSeq, 6);
    assert.equal(result.partial, false);
  });

  test('nothing above the watermark or at the cursor; a full page goes on from its last seq', async () => {
    const window = await page({ afterSeq: 2, maxSeq: 4 });
    assert.deepEqual((JSON.parse(window.eventsJson) as { seq: number }[]).map((event) => event.seq), [3, 4]);
    const full = await page({ topic: 'topic.a', limit: 2 });
    assert.deepEqual([full.count, full.lastSeq, full.through], [2, 2, 2]);
  });

  test('an empty page has no last seq, and goes on from the watermark', async () => {
    const empty = await page({ afterSeq: 6, maxSeq: 6 });
    assert.deepEqual([empty.eventsJson, empty.count, empty.lastSeq, empty.through], ['[]', 0, null, 6]);
  });

  test('topics are summed over the shards, in name order', async () => {
    const rows = (await pool.run({ after: null, prefix: null, limit: 10 } satisfies TopicQuery, { name: 'topics' })) as TopicRow[];
    assert.deepEqual(
      rows.map((row) => [row.topic, row.received, row.unique, row.duplicates]),
      [
        ['topic.a', 5, 4, 1],
        ['topic.b', 2, 2, 0],
      ],
    );
    const after = (await pool.run({ after: 'topic.a', prefix: 'topic.', limit: 10 } satisfies TopicQuery, { name: 'topics' })) as TopicRow[];
    assert.deepEqual(after.map((row) => row.topic), ['topic.b']);
  });

  test('one task for several shards\' parts: merged, the parts are what the whole read gives', async () => {
    const part = <Part>(name: string, query: unknown): Promise<Part[]> => pool.run({ shards: [0, 1], query }, { name }) as Promise<Part[]>;
    const query: PageQuery = { topic: 'topic.a', filter: null, afterSeq: 1, maxSeq: 100, limit: 2 };
    const parts = await part<PagePart>('pageParts', query);
    assert.deepEqual(parts.map((one) => one.rows.map((row) => row.seq)), [[4], [2, 5]]);
    const merged = mergePageParts(parts, query);
    const whole = await page(query);
    assert.deepEqual([renderEvents(merged.rows), merged.through, merged.partial], [whole.eventsJson, whole.through, whole.partial]);

    const search: SearchPageQuery = { query: null, topic: null, sinceMs: null, untilMs: null, order: 'desc', after: null, maxSeq: 100, limit: 4, maxRows: 1000, timeoutMs: 60_000 };
    const found = mergeSearchParts(await part<SearchPart>('searchParts', search), search);
    const result = (await pool.run(search, { name: 'search' })) as SearchResult;
    assert.deepEqual([renderEvents(found.rows), found.next, found.partial], [result.eventsJson, result.next, result.partial]);
    assert.deepEqual(found.rows.map((row) => row.seq), [6, 5, 4, 3]);

    const topics: TopicQuery = { after: null, prefix: null, limit: 10 };
    assert.deepEqual(mergeTopicParts(await part<TopicRow[]>('topicsParts', topics), 10), await pool.run(topics, { name: 'topics' }));
  });

  test('a snapshot of a shard is a sound copy of its file, with its log position', async () => {
    const to = join(dir, 'snapshot-1.db');
    const file = (await pool.run({ shard: 1, to }, { name: 'snapshot' })) as SnapshotFile;
    assert.ok(existsSync(to));
    assert.ok(file.bytes > 0);
    assert.deepEqual(file.log, { seq: 0, clock: 0 }, 'an embedded shard never moved its position');
  });
});
