import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { allEvents, event, publish, runServer, startServer, stats, makeTempDir } from './helper.js';

describe('restarts', () => {
  test('events, dedup and counters survive a graceful restart', async () => {
    const dataDir = await makeTempDir();
    const first = await startServer({ dataDir, shards: 2 });
    await publish(first.url, [event({ event_id: 'kept-1' }), event({ event_id: 'kept-2' }), event({ event_id: 'kept-1' })]);
    await publish(first.url, { topic: 'bad' });
    const before = await stats(first.url);
    assert.equal((await first.stop('SIGTERM')).code, 0, 'SIGTERM exits 0');

    const second = await startServer({ dataDir, shards: 2 });
    const restored = await stats(second.url);
    assert.deepEqual(
      [restored.received, restored.unique_processed, restored.duplicate_dropped, restored.rejected, restored.topics],
      [before.received, before.unique_processed, before.duplicate_dropped, before.rejected, before.topics],
    );
    const again = await publish(second.url, event({ event_id: 'kept-2' }));
    assert.deepEqual(again.body, { accepted: 1, unique: 0, duplicates: 1 });
    const events = await allEvents(second.url);
    assert.deepEqual(events.map((stored) => stored.event_id), ['kept-1', 'kept-2']);

    const fresh = await publish(second.url, event({ event_id: 'after-restart' }));
    assert.equal(fresh.body.unique, 1);
    const [, , newest] = await allEvents(second.url);
    assert.ok(newest.seq > events[1].seq, 'seq keeps increasing across restarts');
    assert.equal((await second.stop('SIGINT')).code, 0, 'SIGINT exits 0');
  });

  test('a data dir created with another shard count is refused and left untouched', async () => {
    const dataDir = await makeTempDir();
    const server = await startServer({ dataDir, shards: 2 });
    await publish(server.url, event());
    await server.stop();
    const listing = async () =>
      Promise.all((await readdir(dataDir)).sort().map(async (name) => [name, (await stat(join(dataDir, name))).mtimeMs] as const));
    const before = await listing();

    const refused = await runServer(['--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--shards', '3']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /2 shards/);
    assert.match(refused.stderr, /--shards is 3/);
    assert.deepEqual(await listing(), before, 'no file created, changed or removed');
  });

  test('a second process on the same data dir is refused', async () => {
    const dataDir = await makeTempDir();
    const server = await startServer({ dataDir, shards: 1 });
    const refused = await runServer(['--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--shards', '1']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /in use by process/);
    await server.stop();
  });
});
