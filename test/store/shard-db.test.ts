import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { EventPages, mergeBySeq } from '../../src/store/event-pages.js';
import { shardPath } from '../../src/store/data-dir.js';
import { ShardDb, type StoreBatch } from '../../src/store/shard-db.js';
import type { StoredEventRow } from '../../src/store/tables.js';
import { makeTempDir } from '../helper.js';

function batch(seqs: [number, string][], extra: Partial<StoreBatch> = {}): StoreBatch {
  return {
    receivedAt: 1_700_000_000_000,
    rejected: 0,
    wantsStatuses: true,
    events: seqs.map(([seq, eventId]) => ({ seq, topic: eventId.startsWith('b') ? 'topic.b' : 'topic.a', eventId, timestamp: '2025-10-22T10:30:00Z', source: 's', payload: `{"seq":${seq}}` })),
    ...extra,
  };
}

describe('ShardDb', () => {
  test('one commit of several batches: duplicates across and within batches, counters in the same transaction', async () => {
    const path = join(await makeTempDir(), 'shard.db');
    const db = new ShardDb({ path, shard: 0, shardCount: 1, sync: 'normal' });
    const outcome = db.commit([batch([[1, 'a1'], [2, 'b1'], [3, 'a1']]), batch([[4, 'b1'], [5, 'a2']], { rejected: 7 })]);
    assert.deepEqual(outcome.batches.map((item) => [item.inserted, [...item.statuses!]]), [[2, [1, 1, 0]], [1, [0, 1]]]);
    assert.deepEqual(Object.fromEntries(outcome.topics), { 'topic.a': { received: 3, unique: 2, duplicates: 1 }, 'topic.b': { received: 2, unique: 1, duplicates: 1 } });
    assert.equal(outcome.lastSeq, 5);
    db.close();

    const reopened = new ShardDb({ path, shard: 0, shardCount: 1, sync: 'full' });
    const snapshot = reopened.snapshot();
    assert.deepEqual(snapshot.counters, { received: 5, unique_processed: 3, duplicate_dropped: 2, rejected: 7, last_seq: 5 });
    assert.equal(snapshot.counters.received, snapshot.counters.unique_processed + snapshot.counters.duplicate_dropped);
    reopened.close();
  });

  test('a failing batch rolls back the whole commit, counters included', async () => {
    const path = join(await makeTempDir(), 'shard.db');
    const db = new ShardDb({ path, shard: 0, shardCount: 1, sync: 'normal' });
    const broken = batch([[2, 'a2']]);
    (broken.events[0] as { topic: string | null }).topic = null; // violates NOT NULL
    assert.throws(() => db.commit([batch([[1, 'a1']]), broken]));
    assert.equal(db.snapshot().counters.received, 0);
    assert.equal(db.commit([batch([[1, 'a1']])]).batches[0]!.inserted, 1, 'a1 was not stored by the failed commit');
    db.close();
  });

  test('a file of another shard or shard count is refused', async () => {
    const path = join(await makeTempDir(), 'shard.db');
    new ShardDb({ path, shard: 1, shardCount: 2, sync: 'normal' }).close();
    assert.throws(() => new ShardDb({ path, shard: 1, shardCount: 3, sync: 'normal' }), /shard 1 of 2/);
    assert.throws(() => new ShardDb({ path, shard: 0, shardCount: 2, sync: 'normal' }), /shard 1 of 2/);
  });

  test('the file is WAL with the configured synchronous level', async () => {
    const path = join(await makeTempDir(), 'shard.db');
    const db = new ShardDb({ path, shard: 0, shardCount: 1, sync: 'full' });
    const probe = new Database(path, { readonly: true });
    assert.equal(probe.pragma('journal_mode', { simple: true }), 'wal');
    probe.close();
    db.close();
  });
});

describe('EventPages', () => {
  test('merges shards by seq and hides everything above the watermark', async () => {
    const dir = await makeTempDir();
    const shards = [0, 1].map((shard) => new ShardDb({ path: shardPath(dir, shard), shard, shardCount: 2, sync: 'normal' }));
    shards[0]!.commit([batch([[1, 'a1'], [4, 'a4'], [6, 'b6']])]);
    shards[1]!.commit([batch([[2, 'a2'], [3, 'b3'], [5, 'a5']])]);
    const reader = new EventPages(dir, 2);
    assert.deepEqual(reader.page({ topic: null, afterSeq: 0, maxSeq: 100, limit: 10 }).map((row) => row.seq), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(reader.page({ topic: null, afterSeq: 2, maxSeq: 4, limit: 10 }).map((row) => row.seq), [3, 4]);
    assert.deepEqual(reader.page({ topic: 'topic.a', afterSeq: 0, maxSeq: 100, limit: 2 }).map((row) => row.seq), [1, 2]);
    reader.close();
    for (const shard of shards) shard.close();
  });

  test('mergeBySeq stops at the limit', () => {
    const row = (seq: number) => ({ seq }) as StoredEventRow;
    assert.deepEqual(mergeBySeq([[row(1), row(5)], [row(2), row(3)], []], 3).map((item) => item.seq), [1, 2, 3]);
  });
});
