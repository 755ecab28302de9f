import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { fieldNumber, type EventFilter } from '../../../src/events/query.js';
import type { PageQuery, TopicQuery, TopicRow } from '../../../src/ingest/storage.js';
import { matchesQuery } from '../../../src/search/match.js';
import { parseSearchQuery, type SearchQuery } from '../../../src/search/query.js';
import { shardPath } from '../../../src/store/data-dir.js';
import { EventPages } from '../../../src/store/event-pages.js';
import { mergeBySeq, mergePageParts, mergeTopicParts, mergeVolumeParts, trimPagePart, type EventPage } from '../../../src/store/read-parts.js';
import { ShardReaders } from '../../../src/store/shard-readers.js';
import { ShardDb } from '../../../src/store/shard-db.js';
import type { StoredEventRow } from '../../../src/store/tables.js';
import { makeTempDir } from '../../helper.js';
import { batch } from './batch.js';
import { allRows, kTopics, sampleShards } from './sample-shards.js';

describe('EventPages', () => {
  test('merges shards by seq and hides everything above the watermark', async () => {
    const dir = await makeTempDir();
    const shards = [0, 1].map((shard) => new ShardDb({ path: shardPath(dir, shard), shard, shardCount: 2 }));
    shards[0]!.commit([batch([[1, 'a1'], [4, 'a4'], [6, 'b6']])]);
    shards[1]!.commit([batch([[2, 'a2'], [3, 'b3'], [5, 'a5']])]);
    const readers = new ShardReaders(dir, 2);
    const reader = new EventPages(readers);
    assert.deepEqual(reader.page({ topic: null, filter: null, afterSeq: 0, maxSeq: 100, limit: 10 }).rows.map((row) => row.seq), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(reader.page({ topic: null, filter: null, afterSeq: 2, maxSeq: 4, limit: 10 }).rows.map((row) => row.seq), [3, 4]);
    assert.deepEqual(reader.page({ topic: 'topic.a', filter: null, afterSeq: 0, maxSeq: 100, limit: 2 }).rows.map((row) => row.seq), [1, 2]);
    readers.close();
    for (const shard of shards) shard.close();
  });

  test('mergeBySeq stops at the limit', () => {
    const row = (seq: number) => ({ seq }) as StoredEventRow;
    assert.deepEqual(mergeBySeq([[row(1), row(5)], [row(2), row(3)], []], 3).map((item) => item.seq), [1, 2, 3]);
  });
});

const filter = (source: string | null, ...fields: [path: string, text: string][]): EventFilter => ({
  since: null,
  until: null,
  source,
  fields: fields.map(([path, text]) => ({ path: path.split('.'), text, number: fieldNumber(text) })),
});

/** The single pass the page had before it was split into parts, over the rows in memory: the frontier over every shard first, then every shard's matches up to it. */
function onePassPage(stored: readonly StoredEventRow[][], query: PageQuery, scanRows: number, indexed: ReadonlySet<string>): EventPage {
  const { filter } = query;
  const search = query.search ?? null;
  const served = filter?.fields.some((field) => indexed.has(field.path.join('.'))) ?? false;
  const inTopic = (row: StoredEventRow) => query.topic === null || row.topic === query.topic;
  let frontier = query.maxSeq;
  if (search !== null || (filter !== null && !served)) {
    for (const rows of stored) {
      const scanned = rows.filter((row) => inTopic(row) && row.seq > query.afterSeq && row.seq <= query.maxSeq);
      if (scanned.length >= scanRows) frontier = Math.min(frontier, scanned[scanRows - 1]!.seq);
    }
  }
  const rows = stored
    .flat()
    .filter((row) => inTopic(row) && row.seq > query.afterSeq && row.seq <= frontier && matches(row, filter, search))
    .sort((a, b) => a.seq - b.seq)
    .slice(0, query.limit);
  const full = rows.length >= query.limit;
  return { rows, through: full ? rows[rows.length - 1]!.seq : frontier, partial: !full && frontier < query.maxSeq };
}

function matches(row: StoredEventRow, filter: EventFilter | null, search: SearchQuery): boolean {
  const payload = JSON.parse(row.payload) as Record<string, unknown>;
  if (filter?.source != null && row.source !== filter.source) return false;
  for (const field of filter?.fields ?? []) {
    const value = field.path.reduce<unknown>((at, segment) => (at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[segment] : undefined), payload);
    if (value !== field.text && (field.number === null || value !== field.number)) return false;
  }
  return search === null || matchesQuery(search, { topic: row.topic, event_id: row.event_id, source: row.source, payload });
}

/** Every page from the start, each read after the last one's `through`, until a page is neither full nor partial. */
function walk(read: (afterSeq: number) => EventPage, limit: number): EventPage[] {
  const pages: EventPage[] = [];
  let afterSeq = 0;
  for (;;) {
    const page = read(afterSeq);
    pages.push(page);
    if (page.rows.length < limit && !page.partial) return pages;
    assert.ok(page.through > afterSeq, `a page moves the cursor (stuck at ${afterSeq})`);
    assert.ok(pages.length < 10_000);
    afterSeq = page.through;
  }
}

describe('EventPages in parts', async () => {
  const kScan = 7;
  const plain = await sampleShards({ shards: 3, events: 300 });
  const indexed = await sampleShards({ shards: 4, events: 300, indexFields: [['user']] });
  after(() => {
    plain.close();
    indexed.close();
  });
  const queries: [name: string, query: Omit<PageQuery, 'afterSeq' | 'maxSeq'>][] = [
    ['everything', { topic: null, filter: null, limit: 10 }],
    ['everything, one at a time', { topic: null, filter: null, limit: 1 }],
    ['everything at once', { topic: null, filter: null, limit: 1000 }],
    ['a topic', { topic: 'topic.a', filter: null, limit: 5 }],
    ['a source', { topic: null, filter: filter('s1'), limit: 4 }],
    ['a payload field', { topic: null, filter: filter(null, ['user', '3']), limit: 6 }],
    ['a payload field in a topic', { topic: 'topic.b', filter: filter(null, ['kind', 'alpha']), limit: 3 }],
    ['two payload fields, a source', { topic: null, filter: filter('s2', ['user', '2'], ['kind', 'beta']), limit: 2 }],
    ['a word', { topic: null, filter: null, search: parseSearchQuery('alpha'), limit: 6 }],
    ['words in a topic', { topic: 'topic.c', filter: null, search: parseSearchQuery('gamma OR delta'), limit: 3 }],
    ['a field in q, and a filter', { topic: null, filter: filter('s0'), search: parseSearchQuery('user:4'), limit: 2 }],
    ['nothing matches', { topic: null, filter: null, search: parseSearchQuery('nowhere'), limit: 5 }],
  ];

  for (const [label, sample, served] of [['3 shards', plain, new Set<string>()], ['4 shards, user indexed', indexed, new Set(['user'])]] as const) {
    for (const maxSeq of [sample.lastSeq, sample.lastSeq - 37]) {
      test(`${label}, watermark ${maxSeq}: merged parts are the single pass's pages, and a walk sees every match once`, () => {
        const pages = new EventPages(sample.readers, kScan);
        for (const [name, shape] of queries) {
          const at = (afterSeq: number): PageQuery => ({ ...shape, afterSeq, maxSeq });
          const walked = walk((afterSeq) => {
            const page = pages.page(at(afterSeq));
            assert.deepEqual(page, onePassPage(sample.stored, at(afterSeq), kScan, served), `${name} after ${afterSeq}`);
            return page;
          }, shape.limit);
          const every = allRows(sample).filter((row) => row.seq <= maxSeq && (shape.topic === null || row.topic === shape.topic) && matches(row, shape.filter, shape.search ?? null));
          assert.deepEqual(walked.flatMap((page) => page.rows), every, name);
        }
      });

      test(`${label}, watermark ${maxSeq}: parts trimmed to a byte budget still walk every match once, in order`, () => {
        const pages = new EventPages(sample.readers, kScan);
        for (const budget of [1, 700]) {
          for (const [name, shape] of queries) {
            const at = (afterSeq: number): PageQuery => ({ ...shape, afterSeq, maxSeq });
            const walked = walk((afterSeq) => {
              const parts = sample.stored.map((_, shard) => trimPagePart(pages.pagePart(shard, at(afterSeq)), budget));
              for (const part of parts) assert.ok(budget > 1 || part.rows.length <= 1);
              return mergePageParts(parts, at(afterSeq));
            }, shape.limit);
            const every = allRows(sample).filter((row) => row.seq <= maxSeq && (shape.topic === null || row.topic === shape.topic) && matches(row, shape.filter, shape.search ?? null));
            assert.deepEqual(walked.flatMap((page) => page.rows), every, `${name}, budget ${budget}`);
          }
        }
      });
    }
  }

  test('topics merged from the parts are the sums over every shard, in name order', () => {
    const pages = new EventPages(indexed.readers, kScan);
    const sql = 'SELECT topic, received, unique_count AS "unique", duplicates, expired, deleted FROM topics';
    const totals = new Map<string, TopicRow>();
    for (let shard = 0; shard < indexed.readers.count; shard++) {
      for (const row of indexed.readers.prepare(shard, sql).all() as TopicRow[]) {
        const seen = totals.get(row.topic);
        totals.set(row.topic, seen ? { ...row, received: seen.received + row.received, unique: seen.unique + row.unique, duplicates: seen.duplicates + row.duplicates } : row);
      }
    }
    const names = [...totals.keys()].sort();
    assert.deepEqual(names, [...kTopics].sort());
    for (const from of [null, 'other.x', 'topic.a', 'topic.c']) {
      for (const prefix of [null, 'topic.', 'other', 'none']) {
        for (const limit of [1, 2, 10]) {
          const query: TopicQuery = { after: from, prefix, limit };
          const expected: TopicRow[] = names.filter((name) => name > (from ?? '') && (prefix === null || name.startsWith(prefix))).slice(0, limit).map((name) => totals.get(name)!);
          assert.deepEqual(pages.topics(query), expected, JSON.stringify(query));
          const parts = Array.from({ length: indexed.readers.count }, (_, shard) => pages.topicsPart(shard, query));
          assert.deepEqual(mergeTopicParts(parts, limit), expected);
        }
      }
    }
    // By volume (cluster mode ranks topics from these): exact and complete when each shard lists all its topics.
    const byVolume = [...totals.values()].sort((a, b) => b.received - a.received || (a.topic < b.topic ? -1 : 1));
    const shards = Array.from({ length: indexed.readers.count }, (_, shard) => shard);
    const all = mergeVolumeParts(shards.map((shard) => pages.volumePart(shard, 1000, null)));
    assert.deepEqual(all, { rows: byVolume, complete: true, count: names.length });
    // One topic a shard: the sums miss shards, so the view reads the listed names again, which is exact.
    const cut = mergeVolumeParts(shards.map((shard) => pages.volumePart(shard, 1, null)));
    assert.equal(cut.complete, false);
    assert.ok(cut.count <= names.length && cut.count > 1, `a lower bound: ${cut.count}`);
    const named = cut.rows.map((row) => row.topic);
    const exact = mergeVolumeParts(shards.map((shard) => pages.volumePart(shard, 1, named)));
    assert.deepEqual(exact, { rows: byVolume.filter((row) => named.includes(row.topic)), complete: true, count: named.length });
  });
});
