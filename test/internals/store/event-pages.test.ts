import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { shardPath } from '../../../src/store/data-dir.js';
import { EventPages, mergeBySeq } from '../../../src/store/event-pages.js';
import { ShardReaders } from '../../../src/store/shard-readers.js';
import { ShardDb } from '../../../src/store/shard-db.js';
import type { StoredEventRow } from '../../../src/store/tables.js';
import { makeTempDir } from '../../helper.js';
import { batch } from './batch.js';

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
