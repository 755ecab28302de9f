import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { EventPages } from '../../../src/store/event-pages.js';
import { ShardReaders } from '../../../src/store/shard-readers.js';
import { ShardDb } from '../../../src/store/shard-db.js';
import { plainEventSchema } from '../../../bench/lib/plain-schema.js';
import { makeTempDir } from '../../helper.js';
import { batch } from './batch.js';

describe('ShardDb', () => {
  test('one commit of several batches: duplicates across and within batches, counters in the same transaction', async () => {
    const path = join(await makeTempDir(), 'shard.db');
    const db = new ShardDb({ path, shard: 0, shardCount: 1 });
    const outcome = db.commit([batch([[1, 'a1'], [2, 'b1'], [3, 'a1']]), batch([[4, 'b1'], [5, 'a2']], { rejected: 7 })]);
    assert.deepEqual(outcome.batches.map((item) => [item.inserted, [...item.statuses!]]), [[2, [1, 1, 0]], [1, [0, 1]]]);
    assert.deepEqual(Object.fromEntries(outcome.topics), { 'topic.a': { received: 3, unique: 2, duplicates: 1 }, 'topic.b': { received: 2, unique: 1, duplicates: 1 } });
    assert.equal(outcome.lastSeq, 5);
    db.close();

    const reopened = new ShardDb({ path, shard: 0, shardCount: 1 });
    const snapshot = reopened.snapshot();
    assert.deepEqual(snapshot.counters, { received: 5, unique_processed: 3, duplicate_dropped: 2, rejected: 7, last_seq: 5, expired: 0, deleted: 0 });
    assert.equal(snapshot.counters.received, snapshot.counters.unique_processed + snapshot.counters.duplicate_dropped);
    reopened.close();
  });

  test('a failing batch rolls back the whole commit, counters included', async () => {
    const path = join(await makeTempDir(), 'shard.db');
    const db = new ShardDb({ path, shard: 0, shardCount: 1 });
    const broken = batch([[2, 'a2']]);
    (broken.events[0] as { topic: string | null }).topic = null; // violates NOT NULL
    assert.throws(() => db.commit([batch([[1, 'a1']]), broken]));
    assert.equal(db.snapshot().counters.received, 0);
    assert.equal(db.commit([batch([[1, 'a1']])]).batches[0]!.inserted, 1, 'a1 was not stored by the failed commit');
    db.close();
  });

  test('a file of another shard or shard count is refused', async () => {
    const path = join(await makeTempDir(), 'shard.db');
    new ShardDb({ path, shard: 1, shardCount: 2 }).close();
    assert.throws(() => new ShardDb({ path, shard: 1, shardCount: 3 }), /shard 1 of 2/);
    assert.throws(() => new ShardDb({ path, shard: 0, shardCount: 2 }), /shard 1 of 2/);
  });

  test('the file is WAL with the configured synchronous level', async () => {
    const path = join(await makeTempDir(), 'shard.db');
    const db = new ShardDb({ path, shard: 0, shardCount: 1 });
    const probe = new Database(path, { readonly: true });
    assert.equal(probe.pragma('journal_mode', { simple: true }), 'wal');
    probe.close();
    db.close();
  });
});

const fileOptions = (path: string) => ({ path, shard: 0, shardCount: 1 });

/** A closed shard file with a few hundred rows, so it spans many pages. */
async function filledShard(): Promise<string> {
  const path = join(await makeTempDir(), 'shard-000.db');
  const db = new ShardDb(fileOptions(path));
  const events = Array.from({ length: 500 }, (_, index) => ({ seq: index + 1, topic: 't', eventId: `e${index}`, timestamp: '2025-10-22T10:30:00Z', source: 's', payload: `{"pad":"${'p'.repeat(200)}"}` }));
  db.commit([{ receivedAt: 0, rejected: 0, wantsStatuses: false, events }]);
  db.close();
  return path;
}

describe('ShardDb files', () => {
  test('a new shard file appears complete or not at all: built aside and renamed, no leftovers', async () => {
    const dir = await makeTempDir();
    const path = join(dir, 'shard-000.db');
    writeFileSync(`${path}.init`, 'left by a start that died half-way');
    new ShardDb(fileOptions(path)).close();
    assert.ok(statSync(path).size > 0);
    assert.deepEqual(readdirSync(dir).filter((name) => name.includes('.init')), []);
    new ShardDb(fileOptions(path)).close(); // and it opens again
  });
  test('an empty, headerless or truncated shard file is refused with its path, and left untouched', async () => {
    const damages: [string, (path: string) => void, RegExp][] = [
      ['empty', (path) => truncateSync(path, 0), /is empty/],
      ['cut inside the header', (path) => truncateSync(path, 60), /not a SQLite database/],
      ['not SQLite', (path) => writeFileSync(path, Buffer.alloc(8192, 0x41)), /not a SQLite database/],
      ['bad page size', (path) => { const bytes = readFileSync(path); bytes.writeUInt16BE(1000, 16); writeFileSync(path, bytes); }, /bad page size/],
      ['cut mid-page', (path) => truncateSync(path, statSync(path).size - 100), /is truncated: .* not a whole number/],
      ['missing its last pages', (path) => truncateSync(path, 4096 * 2), /is truncated: .* header says/],
    ];
    for (const [name, damage, message] of damages) {
      const path = await filledShard();
      damage(path);
      const before = readFileSync(path);
      assert.throws(() => new ShardDb(fileOptions(path)), (error: Error) => {
        assert.ok(error.message.startsWith(path), `${name}: ${error.message}`);
        assert.match(error.message, message, name);
        return true;
      });
      assert.deepEqual(readFileSync(path), before, `${name}: the file was changed`);
    }
  });
  test('an error SQLite raises while opening names the file too', async () => {
    const path = await filledShard();
    const bytes = readFileSync(path);
    bytes.fill(0x5a, 4096); // every page but the first: the schema is readable, the tables are not
    writeFileSync(path, bytes);
    assert.throws(() => new ShardDb(fileOptions(path)), (error: Error & { code?: string; sourceCode?: string }) => {
      assert.ok(error.message.startsWith(`${path}: `), error.message);
      assert.equal(error.code, 'shard_unreadable');
      assert.match(error.sourceCode ?? '', /^SQLITE_/);
      return true;
    });
  });

  // Invariant 1, one writer per shard (docs/ARCHITECTURE.md): the store side.
  test('a second writer connection fails at once instead of interleaving commits', async () => {
    const path = join(await makeTempDir(), 'shard-000.db');
    const owner = new ShardDb({ path, shard: 0, shardCount: 1 });
    const intruder = new ShardDb({ path, shard: 0, shardCount: 1 });
    const holder = new Database(path);
    holder.exec('BEGIN IMMEDIATE');
    const batch = { receivedAt: Date.now(), rejected: 0, wantsStatuses: false, events: [{ seq: 1, topic: 't', eventId: 'e', timestamp: 'x', source: 's', payload: '{}' }] };
    assert.throws(() => intruder.commit([batch]), { code: 'SQLITE_BUSY' });
    holder.exec('ROLLBACK');
    assert.equal(owner.commit([batch]).batches[0]!.inserted, 1);
    holder.close();
    intruder.close();
    owner.close();
  });

  test('a format-1 shard file (topic names in every row) is migrated in place, through format 2 to 3: rows, counters and dedup kept', async () => {
    const dir = await makeTempDir();
    const path = join(dir, 'shard-000.db');
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    old.exec(plainEventSchema);
    old.exec("INSERT INTO meta VALUES ('format_version', 1), ('shard', 0), ('shard_count', 1)");
    const insert = old.prepare('INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)');
    for (let seq = 1; seq <= 4; seq++) insert.run(seq, seq % 2 ? 'topic.odd' : 'topic.even', `id${seq}`, '2025-10-22T10:30:00Z', 's', `{"seq":${seq}}`, 1_700_000_000_000);
    old.exec("INSERT INTO topics VALUES ('topic.odd', 2, 2, 0), ('topic.even', 2, 2, 0); UPDATE counters SET received = 4, unique_processed = 4, last_seq = 4");
    old.close();

    const db = new ShardDb({ path, shard: 0, shardCount: 1 });
    assert.deepEqual(db.snapshot().counters, { received: 4, unique_processed: 4, duplicate_dropped: 0, rejected: 0, last_seq: 4, expired: 0, deleted: 0 });
    const again = db.commit([{ ...batch([]), events: [{ seq: 5, topic: 'topic.odd', eventId: 'id1', timestamp: '2025-10-22T10:30:00Z', source: 's', payload: '{}' }] }]);
    assert.equal(again.batches[0]!.inserted, 0, 'an identity stored before the migration is still a duplicate');
    db.close();
    const readers = new ShardReaders(dir, 1);
    const pages = new EventPages(readers);
    assert.deepEqual(pages.page({ topic: null, filter: null, afterSeq: 0, maxSeq: 10, limit: 10 }).rows.map((row) => [row.seq, row.topic, row.event_id, row.payload]), [
      [1, 'topic.odd', 'id1', '{"seq":1}'],
      [2, 'topic.even', 'id2', '{"seq":2}'],
      [3, 'topic.odd', 'id3', '{"seq":3}'],
      [4, 'topic.even', 'id4', '{"seq":4}'],
    ]);
    assert.deepEqual(pages.page({ topic: 'topic.even', filter: null, afterSeq: 2, maxSeq: 10, limit: 10 }).rows.map((row) => row.seq), [4]);
    readers.close();
    const migrated = new Database(path, { readonly: true });
    assert.equal(migrated.prepare("SELECT value FROM meta WHERE key = 'format_version'").pluck().get(), 3);
    migrated.close();
  });

  test('a topic first seen by a commit that rolls back leaves no id behind', async () => {
    const dir = await makeTempDir();
    const db = new ShardDb({ path: join(dir, 'shard-000.db'), shard: 0, shardCount: 1 });
    const broken = batch([[2, 'a2']]);
    (broken.events[0] as { topic: string | null }).topic = null; // violates NOT NULL after topic.b's row and id were written
    assert.throws(() => db.commit([batch([[1, 'b1']]), broken]));
    db.commit([batch([[3, 'a3'], [4, 'b4']])]);
    db.close();
    const readers = new ShardReaders(dir, 1);
    const pages = new EventPages(readers);
    assert.deepEqual(pages.page({ topic: null, filter: null, afterSeq: 0, maxSeq: 10, limit: 10 }).rows.map((row) => [row.seq, row.topic]), [[3, 'topic.a'], [4, 'topic.b']]);
    readers.close();
  });

  test('expiry goes in slices of a bounded number of rows, oldest first, and retired identities stay duplicates', async () => {
    const path = join(await makeTempDir(), 'shard-000.db');
    const db = new ShardDb({ path, shard: 0, shardCount: 1, retention: [{ pattern: 'topic.a', maxAgeMs: 1000 }] });
    const receivedAt = 1_700_000_000_000;
    db.commit([batch(Array.from({ length: 25 }, (_, index) => [index + 1, `a${index}`] as [number, string]), { receivedAt })]);
    db.commit([batch([[26, 'b1']], { receivedAt }), batch([[27, 'a-young']], { receivedAt: receivedAt + 5000 })]);
    const slices: number[] = [];
    for (;;) {
      const { expired, more } = db.expire(receivedAt + 2000, 10);
      slices.push(expired.reduce((sum, [, count]) => sum + count, 0));
      if (!more) break;
    }
    assert.deepEqual(slices, [10, 10, 5], 'at most the budget per slice; the young row and the ruleless topic stay');
    const again = db.commit([batch([[28, 'a3'], [29, 'a-new']], { receivedAt: receivedAt + 6000 })]);
    assert.deepEqual([...again.batches[0]!.statuses!], [0, 1], 'an expired identity is a duplicate, a new one is stored');
    const snapshot = db.snapshot();
    assert.equal(snapshot.counters.expired, 25);
    assert.deepEqual(snapshot.losses, [['topic.a', { expired: 25, deleted: 0 }]]);
    db.close();
    const readers = new ShardReaders(dirname(path), 1);
    const pages = new EventPages(readers);
    assert.deepEqual(pages.page({ topic: null, filter: null, afterSeq: 0, maxSeq: 100, limit: 100 }).rows.map((row) => row.event_id), ['b1', 'a-young', 'a-new']);
    readers.close();
    const reopened = new ShardDb({ path, shard: 0, shardCount: 1 });
    assert.deepEqual([...reopened.commit([batch([[30, 'a0']])]).batches[0]!.statuses!], [0], 'retired identities survive a reopen, without any rule');
    reopened.close();
  });

  test('cluster mode: log positions apply in order, once, recorded in the same transaction; a gap is refused and writes nothing', async () => {
    const path = join(await makeTempDir(), 'shard-000.db');
    const db = new ShardDb({ path, shard: 0, shardCount: 1 });
    assert.deepEqual(db.log, { seq: 0, clock: 0 });
    const outcome = db.commit([batch([[1, 'a1']], { logSeq: 1, logClock: 10 }), batch([[2, 'a2']], { logSeq: 2, logClock: 20 })]);
    assert.deepEqual(outcome.log, { seq: 2, clock: 20 });
    assert.throws(() => db.commit([batch([[3, 'a3']], { logSeq: 4 })]), (error: { code?: string }) => error.code === 'log_gap');
    assert.throws(() => db.commit([batch([[3, 'a3']], { logSeq: 2 })]), (error: { code?: string }) => error.code === 'log_gap', 'an applied position is not applied again');
    // A commit that fails after its positions were checked leaves the last position where it was.
    const broken = batch([[4, 'a4']], { logSeq: 3 });
    (broken.events[0] as { topic: string | null }).topic = null;
    assert.throws(() => db.commit([broken]));
    assert.deepEqual(db.log, { seq: 2, clock: 20 });
    db.commit([batch([[3, 'a3']], { logSeq: 3, logClock: 31 })]);
    db.close();
    const reopened = new ShardDb({ path, shard: 0, shardCount: 1 });
    assert.deepEqual(reopened.log, { seq: 3, clock: 31 }, 'persisted');
    assert.deepEqual(reopened.snapshot().log, { seq: 3, clock: 31 });
    assert.equal(reopened.snapshot().counters.unique_processed, 3, 'the refused batches stored nothing');
    reopened.close();
  });
});
