/**
 * Online backup (`node dist/main.js backup`) of a data dir while the service commits, and restore
 * into an empty dir: every event acknowledged before the backup began is in the restored copy,
 * nothing is stored twice, and the restored counters match its rows.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { allEvents, event, makeTempDir, publish, runServer, startServer, stats } from './helper.js';

describe('backup and restore', () => {
  test('a backup taken under load restores into an empty dir with everything acknowledged before it began', async () => {
    const server = await startServer({ shards: 3 });
    const acknowledged = new Set<string>();
    let publishing = true;
    let batchNumber = 0;
    const publishers = Array.from({ length: 3 }, async (_, client) => {
      while (publishing) {
        const batch = Array.from({ length: 200 }, (_, index) => event({ topic: `load.${client}`, event_id: `c${client}-${batchNumber}-${index}`, payload: { pad: 'x'.repeat(200) } }));
        batchNumber++;
        const reply = await publish(server.url, batch);
        if (reply.status === 200) for (const item of batch) acknowledged.add(`${item.topic}/${item.event_id}`);
      }
    });
    try {
      while (acknowledged.size < 20_000) await new Promise((resolve) => setImmediate(resolve));
      const before = new Set(acknowledged);
      const backupDir = join(await makeTempDir(), 'backup');
      const backup = await runServer(['backup', '--data-dir', server.dataDir, '--to', backupDir]);
      assert.equal(backup.code, 0, backup.stderr);
      const receivedDuring = acknowledged.size - before.size;
      publishing = false;
      await Promise.all(publishers);
      assert.ok(receivedDuring > 0, 'ingest went on during the backup');

      const restoredDir = join(await makeTempDir(), 'restored');
      const restore = await runServer(['restore', '--from', backupDir, '--data-dir', restoredDir]);
      assert.equal(restore.code, 0, restore.stderr);
      assert.match(restore.stdout, /"msg":"restored","shards":3/);
      const restored = await startServer({ dataDir: restoredDir, shards: 3 });
      try {
        const events = await allEvents(restored.url);
        const keys = events.map((item) => `${item.topic}/${item.event_id}`);
        assert.equal(new Set(keys).size, keys.length, 'nothing twice');
        const present = new Set(keys);
        for (const key of before) assert.ok(present.has(key), `acknowledged before the backup, missing: ${key}`);
        for (const key of keys) assert.ok(acknowledged.has(key), `never acknowledged: ${key}`);
        const counts = await stats(restored.url);
        assert.equal(counts.stored, events.length);
        assert.equal(counts.unique_processed, events.length);
      } finally {
        await restored.stop();
      }
    } finally {
      publishing = false;
      await Promise.all(publishers);
      await server.stop();
    }
  });

  test('restore refuses a non-empty target and an incomplete backup; backup refuses a non-empty target', async () => {
    const server = await startServer({ shards: 1 });
    await publish(server.url, event({ topic: 'b', event_id: '1' }));
    const target = await makeTempDir();
    writeFileSync(join(target, 'something'), 'x');
    const refused = await runServer(['backup', '--data-dir', server.dataDir, '--to', target]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /is not empty/);
    await server.stop();
    const incomplete = await makeTempDir();
    const notBackup = await runServer(['restore', '--from', incomplete, '--data-dir', join(await makeTempDir(), 'x')]);
    assert.equal(notBackup.code, 1);
    assert.match(notBackup.stderr, /not a complete backup/);
    const usage = await runServer(['backup', '--to', target, '--bogus']);
    assert.equal(usage.code, 1);
    assert.match(usage.stderr, /backup: Unknown option/);
  });
});
