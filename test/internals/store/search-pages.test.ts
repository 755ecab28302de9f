import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { parseSearchQuery } from '../../../src/search/query.js';
import type { SearchPageQuery } from '../../../src/search/request.js';
import { mergeSearchParts, trimSearchPart, type SearchPageRows } from '../../../src/store/read-parts.js';
import { searchPage, searchPart } from '../../../src/store/search-pages.js';
import { CompiledFilter, scanShard, type ScanRange } from '../../../src/store/search-scan.js';
import type { ShardReaders } from '../../../src/store/shard-readers.js';
import type { StoredEventRow } from '../../../src/store/tables.js';
import { allRows, sampleShards } from './sample-shards.js';

/** searchPage as it was before it was split into parts: every shard scanned in turn under one deadline, the page cut at the frontier. */
function onePassSearch(readers: ShardReaders, query: SearchPageQuery): SearchPageRows {
  const desc = query.order === 'desc';
  const range: ScanRange = desc
    ? { order: 'desc', lo: 0, hi: Math.min(query.maxSeq, query.after === null ? query.maxSeq : query.after - 1) }
    : { order: 'asc', lo: query.after ?? 0, hi: query.maxSeq };
  const filter = new CompiledFilter(query);
  const deadline = performance.now() + query.timeoutMs;
  const found: StoredEventRow[] = [];
  let frontier = desc ? range.lo + 1 : range.hi;
  let exhausted = true;
  for (let shard = 0; shard < readers.count; shard++) {
    if (range.lo >= range.hi) break;
    const result = scanShard(readers, shard, filter, range, { matches: query.limit, rows: query.maxRows, deadline }, (row) => found.push(row));
    if (result.exhausted) continue;
    exhausted = false;
    frontier = desc ? Math.max(frontier, result.reached) : Math.min(frontier, result.reached);
  }
  const inReach = found.filter((row) => (desc ? row.seq >= frontier : row.seq <= frontier));
  const rows = inReach.sort((a, b) => (desc ? b.seq - a.seq : a.seq - b.seq)).slice(0, query.limit);
  if (rows.length === query.limit) return { rows, next: rows[rows.length - 1]!.seq, partial: false };
  if (!exhausted) return { rows, next: frontier, partial: true };
  return { rows, next: !desc && rows.length > 0 ? range.hi : null, partial: false };
}

/** Every page from the start of the order, each read after the last one's `next`, until it is null. */
function walk(read: (after: number | null) => SearchPageRows, order: 'asc' | 'desc'): SearchPageRows[] {
  const pages: SearchPageRows[] = [];
  let cursor: number | null = null;
  for (;;) {
    const page = read(cursor);
    pages.push(page);
    if (page.next === null) return pages;
    assert.ok(cursor === null || (order === 'asc' ? page.next > cursor : page.next < cursor), `a page moves the cursor (stuck at ${cursor})`);
    assert.ok(pages.length < 10_000);
    cursor = page.next;
  }
}

const minute = (m: number): number => Date.parse(`2025-10-22T10:${String(m).padStart(2, '0')}:00Z`);

describe('searchPage in parts', async () => {
  // About half of each shard's events in the word index: scans cross from the index to the tail.
  const sample = await sampleShards({ shards: 3, events: 240, wordIndexed: 40 });
  after(() => sample.close());
  const filters: [name: string, filter: Pick<SearchPageQuery, 'query' | 'topic' | 'sinceMs' | 'untilMs'>][] = [
    ['everything', { query: null, topic: null, sinceMs: null, untilMs: null }],
    ['a word', { query: parseSearchQuery('alpha'), topic: null, sinceMs: null, untilMs: null }],
    ['two words', { query: parseSearchQuery('alpha beta'), topic: null, sinceMs: null, untilMs: null }],
    ['either word, a topic', { query: parseSearchQuery('gamma OR delta'), topic: 'topic.a', sinceMs: null, untilMs: null }],
    ['a field, a topic glob', { query: parseSearchQuery('user:3'), topic: 'topic.*', sinceMs: null, untilMs: null }],
    ['a negation, a time range', { query: parseSearchQuery('-alpha'), topic: null, sinceMs: minute(20), untilMs: minute(40) }],
    ['nothing matches', { query: parseSearchQuery('nowhere'), topic: null, sinceMs: null, untilMs: null }],
  ];
  const bounds: [limit: number, maxRows: number][] = [
    [5, 1000],
    [50, 1000],
    [1, 13],
    [4, 3],
    [50, 17],
  ];

  const expected = (filter: Pick<SearchPageQuery, 'query' | 'topic' | 'sinceMs' | 'untilMs'>, order: 'asc' | 'desc', maxSeq: number): StoredEventRow[] => {
    const compiled = new CompiledFilter(filter);
    const rows = allRows(sample).filter((row) => row.seq <= maxSeq && compiled.matches(row, false));
    return order === 'asc' ? rows : rows.reverse();
  };

  for (const order of ['asc', 'desc'] as const) {
    for (const maxSeq of [sample.lastSeq, sample.lastSeq - 31]) {
      test(`${order}, watermark ${maxSeq}: merged parts are the single pass's pages, and a walk sees every match once`, () => {
        for (const [name, filter] of filters) {
          for (const [limit, maxRows] of bounds) {
            const at = (cursor: number | null): SearchPageQuery => ({ ...filter, order, after: cursor, maxSeq, limit, maxRows, timeoutMs: 60_000 });
            const walked = walk((cursor) => {
              const page = searchPage(sample.readers, at(cursor));
              assert.deepEqual(page, onePassSearch(sample.readers, at(cursor)), `${name}, limit ${limit}, maxRows ${maxRows}, after ${cursor}`);
              return page;
            }, order);
            assert.deepEqual(walked.flatMap((page) => page.rows), expected(filter, order, maxSeq), `${name}, limit ${limit}, maxRows ${maxRows}`);
          }
        }
      });

      test(`${order}, watermark ${maxSeq}: parts trimmed to a byte budget still walk every match once, in order`, () => {
        for (const budget of [1, 700]) {
          for (const [name, filter] of filters) {
            for (const [limit, maxRows] of bounds.filter(([limit]) => limit !== 50)) {
              const at = (cursor: number | null): SearchPageQuery => ({ ...filter, order, after: cursor, maxSeq, limit, maxRows, timeoutMs: 60_000 });
              const walked = walk((cursor) => {
                const parts = Array.from({ length: sample.readers.count }, (_, shard) => trimSearchPart(searchPart(sample.readers, shard, at(cursor)), budget));
                for (const part of parts) assert.ok(budget > 1 || part.rows.length <= 1);
                return mergeSearchParts(parts, at(cursor));
              }, order);
              assert.deepEqual(walked.flatMap((page) => page.rows), expected(filter, order, maxSeq), `${name}, limit ${limit}, maxRows ${maxRows}, budget ${budget}`);
            }
          }
        }
      });
    }
  }

  test('an empty range reads nothing and ends the query', () => {
    const base = { ...filters[0]![1], maxSeq: sample.lastSeq, limit: 5, maxRows: 1000, timeoutMs: 60_000 };
    for (const query of [{ ...base, order: 'desc', after: 1 }, { ...base, order: 'asc', after: sample.lastSeq }] as const) {
      const parts = Array.from({ length: sample.readers.count }, (_, shard) => searchPart(sample.readers, shard, query));
      assert.ok(parts.every((part) => part.exhausted && part.rows.length === 0));
      assert.deepEqual(mergeSearchParts(parts, query), { rows: [], next: null, partial: false });
      assert.deepEqual(mergeSearchParts([], query), onePassSearch(sample.readers, query));
    }
  });
});
