import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { WalSyncer } from '../../../src/workers/wal-syncer.js';
import { makeTempDir } from '../../helper.js';

/** A WAL-mode database with one commit, its writer left open (so its -wal file stays). */
async function walDatabase(): Promise<{ path: string; db: Database.Database }> {
  const path = join(await makeTempDir(), 'shard-000.db');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (x)');
  db.prepare('INSERT INTO t VALUES (1)').run();
  return { path, db };
}

describe('WalSyncer', () => {
  test('a call resolves only after an fdatasync that began after it, and calls resolve in call order however the fdatasyncs overlap', async () => {
    const { path, db } = await walDatabase();
    const durations: number[] = [];
    const syncer = new WalSyncer(path, (milliseconds) => durations.push(milliseconds));
    await syncer.sync(); // opens the file: alone
    durations.length = 0;
    const order: number[] = [];
    // Two run at once; the other calls share the next ones. A later one returning first resolves the earlier ones too.
    const calls = Array.from({ length: 6 }, (_, index) => syncer.sync().then(() => order.push(index)));
    await Promise.all(calls);
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
    assert.ok(durations.length >= 2 && durations.length <= 6, `${durations.length} fdatasyncs for 6 calls`);
    await syncer.close();
    db.close();
  });

  test('no WAL file means nothing to sync (SQLite deletes it only once checkpointed into the synced database)', async () => {
    const path = join(await makeTempDir(), 'shard-000.db');
    const syncer = new WalSyncer(path);
    await syncer.sync();
    await syncer.close();
  });

  test('an fdatasync that cannot run rejects every caller waiting for it, with the errno code, and the next call tries again', async () => {
    const dir = await makeTempDir();
    writeFileSync(join(dir, 'file'), '');
    // A database path under a regular file: opening its WAL fails with ENOTDIR.
    const syncer = new WalSyncer(join(dir, 'file', 'shard-000.db'));
    const waiting = [syncer.sync(), syncer.sync()];
    for (const call of waiting) await assert.rejects(call, (error: NodeJS.ErrnoException) => error.code === 'ENOTDIR');
    await assert.rejects(syncer.sync(), (error: NodeJS.ErrnoException) => error.code === 'ENOTDIR');
    await syncer.close();
  });

  test('syncWithin: one fdatasync within the interval, however many commits ask', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { path, db } = await walDatabase();
    const syncer = new WalSyncer(path);
    const errors: unknown[] = [];
    for (let index = 0; index < 5; index++) syncer.syncWithin(100, (error) => errors.push(error));
    t.mock.timers.tick(99);
    // A sync asked for now joins the one the timer is about to start, or starts it: it must still resolve.
    t.mock.timers.tick(1);
    await syncer.sync();
    assert.deepEqual(errors, []);
    t.mock.timers.reset();
    await syncer.close();
    db.close();
  });

  test('after the writer reopens its database the WAL is taken anew (a new file after a clean close)', async () => {
    const { path, db } = await walDatabase();
    const syncer = new WalSyncer(path);
    await syncer.sync();
    db.close(); // the last connection: checkpointed, the WAL deleted
    const reopened = new Database(path);
    reopened.prepare('INSERT INTO t VALUES (2)').run(); // a new WAL file
    syncer.writerReopened();
    await syncer.sync();
    await syncer.close();
    reopened.close();
  });
  test('after the writer reopened, a sync that comes while the old handle closes waits for the new one (no fdatasync of a closed handle)', async () => {
    const { path, db } = await walDatabase();
    const syncer = new WalSyncer(path);
    await syncer.sync();
    syncer.writerReopened();
    // The first lets go of the old handle; the second, in the same turn, must not fsync it (EBADF).
    await Promise.all([syncer.sync(), syncer.sync(), syncer.sync()]);
    await syncer.close();
    db.close();
  });
});
