import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { ShardDb } from '../../../src/store/shard-db.js';
import { checkSnapshot, restoreShardFile, snapshotShardFile } from '../../../src/store/shard-snapshot.js';
import { makeTempDir } from '../../helper.js';
import { batch } from './batch.js';

const options = (path: string, shard = 0) => ({ path, shard, shardCount: 2 });

describe('shard snapshots', () => {
  test('a snapshot taken while the writer goes on holds one committed state and the log position that made it', async () => {
    const dir = await makeTempDir();
    const db = new ShardDb(options(join(dir, 'live.db')));
    db.commit([batch([[1, 'a1'], [3, 'b1']], { logSeq: 1, logClock: 10 })]);
    const snapshot = snapshotShardFile(join(dir, 'live.db'), join(dir, 'snap.db'));
    db.commit([batch([[5, 'a2']], { logSeq: 2, logClock: 20 })]);
    assert.deepEqual(snapshot.log, { seq: 1, clock: 10 });
    assert.ok(snapshot.bytes > 0);
    const copy = new ShardDb(options(join(dir, 'snap.db')));
    assert.equal(copy.snapshot().counters.unique_processed, 2, 'the later commit is not in it');
    copy.close();
    db.close();
  });

  test('a restore replaces the live file in one step: an open reader sees the old state, then the new, and the writer reopens on it', async () => {
    const dir = await makeTempDir();
    const ahead = new ShardDb(options(join(dir, 'ahead.db')));
    ahead.commit([batch([[1, 'a1']], { logSeq: 1, logClock: 10 }), batch([[3, 'a2'], [5, 'b1']], { logSeq: 2, logClock: 20 })]);
    snapshotShardFile(join(dir, 'ahead.db'), join(dir, 'snap.db'));
    ahead.close();

    const livePath = join(dir, 'live.db');
    const behind = new ShardDb(options(livePath));
    behind.commit([batch([[1, 'a1']], { logSeq: 1, logClock: 10 })]);
    behind.close();
    const reader = new Database(livePath, { readonly: true });
    const count = () => reader.prepare('SELECT count(*) FROM events').pluck().get();
    assert.equal(count(), 1);
    await restoreShardFile(join(dir, 'snap.db'), livePath);
    assert.equal(count(), 3, 'the reader, still open, sees the restored rows');
    const reopened = new ShardDb(options(livePath));
    assert.deepEqual(reopened.log, { seq: 2, clock: 20 });
    // It goes on at the next position, and refuses to skip one.
    reopened.commit([batch([[7, 'a3']], { logSeq: 3, logClock: 30 })]);
    assert.throws(() => reopened.commit([batch([[9, 'a4']], { logSeq: 5, logClock: 40 })]), (error: { code?: string }) => error.code === 'log_gap');
    assert.equal(count(), 4);
    reopened.close();
    reader.close();
    assert.equal(new Database(livePath, { readonly: true }).pragma('journal_mode', { simple: true }), 'wal');
  });

  test('a snapshot of another shard, or a damaged one, is refused before it touches a replica', async () => {
    const dir = await makeTempDir();
    new ShardDb(options(join(dir, 'one.db'), 1)).close();
    snapshotShardFile(join(dir, 'one.db'), join(dir, 'snap-one.db'));
    assert.throws(() => checkSnapshot(join(dir, 'snap-one.db'), { shard: 0, shardCount: 2 }), (error: { code?: string; message: string }) => error.code === 'snapshot_unusable' && /of shard 1 of 2/.test(error.message));
    assert.deepEqual(checkSnapshot(join(dir, 'snap-one.db'), { shard: 1, shardCount: 2 }), { seq: 0, clock: 0 });
    // A download cut short: SQLite refuses it one way or another, and nothing is copied.
    const cut = join(dir, 'cut.db');
    writeFileSync(cut, readFileSync(join(dir, 'snap-one.db')).subarray(0, 5000));
    assert.throws(() => checkSnapshot(cut, { shard: 1, shardCount: 2 }));
  });
});
