import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { TopicRow } from '../../../src/ingest/storage.js';
import { mergePageParts, mergeSearchParts, mergeTopicParts, renderEvents, trimPagePart, trimSearchPart, type PagePart, type SearchPart } from '../../../src/store/read-parts.js';
import type { StoredEventRow } from '../../../src/store/tables.js';

const row = (seq: number, payload = '{}'): StoredEventRow => ({ seq, topic: 't', event_id: `e${seq}`, timestamp: '2025-10-22T10:30:00Z', source: 's', payload, received_at: 1_700_000_000_000 });
const rows = (...seqs: number[]): StoredEventRow[] => seqs.map((seq) => row(seq));
const seqs = (list: readonly StoredEventRow[]): number[] => list.map((item) => item.seq);
const bytes = (list: readonly StoredEventRow[]): number => Buffer.byteLength(renderEvents(list));

describe('read parts', () => {
  test('a page is cut at the lowest reach; a short page goes on from there, partial below the watermark', () => {
    const parts: PagePart[] = [
      { rows: rows(1, 4, 9), reach: 12 },
      { rows: rows(2, 7), reach: 7 },
      { rows: rows(3, 8), reach: 100 },
    ];
    assert.deepEqual(mergePageParts(parts, { maxSeq: 100, limit: 10 }), { rows: rows(1, 2, 3, 4, 7), through: 7, partial: true });
    assert.deepEqual(mergePageParts(parts, { maxSeq: 100, limit: 3 }), { rows: rows(1, 2, 3), through: 3, partial: false });
    assert.deepEqual(mergePageParts([{ rows: rows(5), reach: 50 }], { maxSeq: 50, limit: 3 }), { rows: rows(5), through: 50, partial: false });
    assert.deepEqual(mergePageParts([], { maxSeq: 50, limit: 3 }), { rows: [], through: 50, partial: false });
  });

  test('a trimmed page part keeps the rows that fit, one at least, and reaches only its last row', () => {
    const part: PagePart = { rows: [row(3, '{"a":"xxxxxxxxxx"}'), row(5), row(8)], reach: 20 };
    assert.equal(trimPagePart(part, bytes(part.rows)), part, 'what fits is left as it is');
    assert.deepEqual(trimPagePart(part, bytes(part.rows) - 1), { rows: part.rows.slice(0, 2), reach: 5 });
    assert.deepEqual(trimPagePart(part, bytes(part.rows.slice(0, 1))), { rows: part.rows.slice(0, 1), reach: 3 });
    assert.deepEqual(trimPagePart(part, 1), { rows: part.rows.slice(0, 1), reach: 3 });
    assert.deepEqual(trimPagePart({ rows: [], reach: 20 }, 1), { rows: [], reach: 20 });
  });

  test('a search page keeps what every unfinished shard examined, in its order', () => {
    const asc = { order: 'asc', after: 0, maxSeq: 100, limit: 10 } as const;
    const ascParts: SearchPart[] = [
      { rows: rows(2, 6, 30), exhausted: false, reached: 30 },
      { rows: rows(4, 12), exhausted: false, reached: 12 },
      { rows: rows(50), exhausted: true, reached: 100 },
    ];
    assert.deepEqual(mergeSearchParts(ascParts, asc), { rows: rows(2, 4, 6, 12), next: 12, partial: true });
    assert.deepEqual(mergeSearchParts(ascParts, { ...asc, limit: 2 }), { rows: rows(2, 4), next: 4, partial: false });
    assert.deepEqual(mergeSearchParts([ascParts[2]!], asc), { rows: rows(50), next: 100, partial: false }, 'asc goes on from the watermark');
    const desc = { order: 'desc', after: 90, maxSeq: 100, limit: 10 } as const;
    const descParts: SearchPart[] = [
      { rows: rows(80, 60, 20), exhausted: false, reached: 20 },
      { rows: rows(70, 65), exhausted: false, reached: 64 },
      { rows: rows(10), exhausted: true, reached: 1 },
    ];
    assert.deepEqual(mergeSearchParts(descParts, desc), { rows: rows(80, 70, 65), next: 64, partial: true });
    assert.deepEqual(mergeSearchParts([descParts[2]!], desc), { rows: rows(10), next: null, partial: false }, 'desc has nothing older');
    assert.deepEqual(mergeSearchParts(descParts, { ...desc, after: 1 }), { rows: [], next: null, partial: false }, 'an empty range ends the query, whatever the parts');
  });

  test('a trimmed search part is unfinished at its last row kept, in either order', () => {
    const asc: SearchPart = { rows: rows(2, 6, 30), exhausted: true, reached: 100 };
    assert.equal(trimSearchPart(asc, bytes(asc.rows)), asc);
    assert.deepEqual(trimSearchPart(asc, 1), { rows: rows(2), exhausted: false, reached: 2 });
    const desc: SearchPart = { rows: rows(80, 60, 20), exhausted: false, reached: 15 };
    assert.deepEqual(trimSearchPart(desc, bytes(desc.rows.slice(0, 2))), { rows: rows(80, 60), exhausted: false, reached: 60 });
  });

  test('topics are summed by name, in name order, to the limit', () => {
    const topic = (name: string, received: number): TopicRow => ({ topic: name, received, unique: received, duplicates: 0, expired: 1, deleted: 0 });
    const merged = mergeTopicParts([[topic('b', 1), topic('d', 2)], [topic('a', 3), topic('b', 4)], []], 2);
    assert.deepEqual(merged, [topic('a', 3), { topic: 'b', received: 5, unique: 5, duplicates: 0, expired: 2, deleted: 0 }]);
  });

  test('the merges load no SQLite: read-parts imports types only', () => {
    const source = readFileSync(new URL('../../../src/store/read-parts.ts', import.meta.url), 'utf8');
    const imports = source.split('\n').filter((line) => line.startsWith('import '));
    assert.ok(imports.length > 0);
    for (const line of imports) assert.match(line, /^import type /);
  });
});
