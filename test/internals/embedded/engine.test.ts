import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { EmbeddedConfig, EmbeddedStorage } from '../../../src/embedded/engine.js';
import type { AggregatorError } from '../../../src/errors.js';
import { shardOf } from '../../../src/events/shard-key.js';
import type { ShardFrame } from '../../../src/ingest/storage.js';
import { encodeRecord, type EventRecord } from '../../../src/ring/codec.js';
import { makeTempDir } from '../../helper.js';
import { useBuiltWorkers } from '../workers/built-workers.js';

// The embedded engine over two real shard threads and a reader thread, on real shard files in a
// temp dir. Worker threads run the built entries (dist/), so the src modules load after the hook.
useBuiltWorkers();
const { EmbeddedStorage: Embedded } = await import('../../../src/embedded/engine.js');

const topic = 'orders.created';

const config = (dataDir: string): EmbeddedConfig => ({
  dataDir,
  shards: 2,
  ringBytes: 1 << 20,
  drainBytes: 1 << 20,
  shardRetryMs: 50,
  readers: 1,
  minFreeBytes: 0,
  sync: 'normal',
  syncIntervalMs: 100,
  retention: [],
  retentionBytes: [],
  indexFields: [],
  forgetAfter: null,
  maxDataBytes: null,
  searchIndex: 'on',
});

async function open(dataDir?: string): Promise<{ storage: EmbeddedStorage; dataDir: string }> {
  const dir = dataDir ?? (await makeTempDir('embedded-'));
  return { storage: await Embedded.open(config(dir)), dataDir: dir };
}

const event = (eventId: string): EventRecord => ({ topic, event_id: eventId, timestamp: '2025-10-22T10:30:00Z', source: 'unit', payload: { id: eventId } });

/** A request's frames as the ingest pipeline builds them: records carry their request position, one frame per shard touched. */
function frames(ids: readonly string[]): ShardFrame[] {
  const byShard = new Map<number, { shard: number; chunks: Uint8Array[]; indexes: number[]; bodyLength: number }>();
  ids.forEach((eventId, index) => {
    const record = encodeRecord(index, event(eventId)).slice();
    const shard = shardOf(topic, eventId, 2);
    let built = byShard.get(shard);
    if (!built) byShard.set(shard, (built = { shard, chunks: [], indexes: [], bodyLength: 0 }));
    built.chunks.push(record);
    built.indexes.push(index);
    built.bodyLength += record.length;
  });
  return [...byShard.values()];
}

/** `count` ids routed to `shard`, none of `taken`. */
function idsOn(shard: number, count: number, prefix: string): string[] {
  const ids: string[] = [];
  for (let index = 0; ids.length < count; index++) if (shardOf(topic, `${prefix}${index}`, 2) === shard) ids.push(`${prefix}${index}`);
  return ids;
}

async function commit(storage: EmbeddedStorage, ids: readonly string[], wantsStatuses = true): Promise<{ unique: number; statuses: number[] | null }> {
  const request = frames(ids);
  for (const frame of request) assert.equal(storage.check(frame.shard, frame.bodyLength), 'ok');
  const verdict = await storage.commit(request, { eventCount: ids.length, wantsStatuses });
  return { unique: verdict.unique, statuses: verdict.statuses && [...verdict.statuses] };
}

async function stored(storage: EmbeddedStorage): Promise<[number, string][]> {
  const page = await storage.pages.page({ topic, filter: null, afterSeq: 0, maxSeq: storage.watermark.current, limit: 100 });
  return (JSON.parse(page.eventsJson) as { seq: number; event_id: string }[]).map((item) => [item.seq, item.event_id]);
}

describe('EmbeddedStorage', () => {
  test('a request split over two shards: unique count and statuses in request order, seqs by request position, the watermark at its last seq', async () => {
    const { storage } = await open();
    assert.equal(storage.commitPath, storage);
    assert.equal(storage.shardCount, 2);
    assert.equal(storage.frameCapacity, 1 << 20);
    assert.equal(storage.check(0, 1 << 20), 'too_large');
    assert.deepEqual(storage.problems(), []);
    assert.equal(storage.watermark.current, 0);
    let advances = 0;
    storage.watermark.onAdvance(() => advances++);

    const [zero, one] = [idsOn(0, 3, 'z'), idsOn(1, 3, 'o')];
    // Interleaved, so request order differs from shard order.
    const first = [zero[0]!, one[0]!, zero[1]!, one[1]!];
    assert.equal(frames(first).length, 2, 'the request touches both shards');
    assert.deepEqual(await commit(storage, first), { unique: 4, statuses: [1, 1, 1, 1] });
    assert.equal(storage.watermark.current, 4);
    assert.ok(advances >= 1);

    // Duplicates and new events on both shards; grouped by shard the statuses would read [0, 1, 1, 0].
    const second = [zero[0]!, one[2]!, one[1]!, zero[2]!];
    assert.deepEqual(await commit(storage, second), { unique: 2, statuses: [0, 1, 0, 1] });
    assert.equal(storage.watermark.current, 8);

    assert.deepEqual(await stored(storage), [
      [1, zero[0]],
      [2, one[0]],
      [3, zero[1]],
      [4, one[1]],
      [6, one[2]],
      [8, zero[2]],
    ]);
    assert.deepEqual({ ...storage.stats.totals() }, { received: 8, unique: 6, duplicates: 2, rejected: 0, expired: 0, deleted: 0 });
    assert.deepEqual(storage.stats.topics().get(topic), { received: 8, unique: 6, duplicates: 2 });

    assert.deepEqual(await commit(storage, [zero[1]!, 'fresh'], false), { unique: 1, statuses: null }, 'no statuses unless asked');
    assert.equal(storage.watermark.current, 10);
    await storage.close();
  });

  test('delete by ids removes the events, counts them as deleted, and keeps the identities unless forget', async () => {
    const { storage } = await open();
    const ids = [...idsOn(0, 2, 'd'), ...idsOn(1, 2, 'd')];
    await commit(storage, ids);
    const doomed = [ids[0]!, ids[2]!, 'never-stored'];
    assert.deepEqual(await storage.delete({ topic, receivedFrom: null, receivedTo: null, eventIds: doomed, forget: false }), { deleted: 2, more: false });
    assert.deepEqual(
      (await stored(storage)).map(([, eventId]) => eventId).sort(),
      [ids[1]!, ids[3]!].sort(),
    );
    assert.deepEqual(storage.stats.losses().get(topic), { expired: 0, deleted: 2 });
    assert.equal(storage.stats.totals().deleted, 2);
    assert.deepEqual(await storage.delete({ topic, receivedFrom: null, receivedTo: null, eventIds: doomed, forget: false }), { deleted: 0, more: false }, 'a repeat is harmless');

    assert.deepEqual((await commit(storage, [ids[0]!])).statuses, [0], 'a deleted identity is still a duplicate');
    await storage.delete({ topic, receivedFrom: null, receivedTo: null, eventIds: [ids[0]!], forget: true });
    assert.deepEqual((await commit(storage, [ids[0]!])).statuses, [1], 'a forgotten identity is stored again');
    await storage.close();
  });

  test('a restart loads the counters and hands out seqs above every earlier one, never reusing one', async () => {
    const { storage, dataDir } = await open();
    await commit(storage, ['r1', 'r2', 'r3']);
    storage.recordRejected(2);
    const before = await stored(storage);
    const lastBefore = storage.watermark.current;
    assert.equal(lastBefore, 3);
    await storage.close();

    const reopened = await open(dataDir);
    assert.ok(reopened.storage.watermark.current >= lastBefore);
    assert.deepEqual({ ...reopened.storage.stats.totals() }, { received: 3, unique: 3, duplicates: 0, rejected: 2, expired: 0, deleted: 0 });
    assert.deepEqual(await commit(reopened.storage, ['r4', 'r1']), { unique: 1, statuses: [1, 0] });
    const after = await stored(reopened.storage);
    assert.deepEqual(after.slice(0, 3), before, 'the earlier events keep their seqs');
    const [seq, eventId] = after[3]!;
    assert.equal(eventId, 'r4');
    assert.ok(seq > lastBefore, `seq ${seq} is above ${lastBefore}`);
    assert.equal(reopened.storage.watermark.current, seq + 1, 'the duplicate r1 took the next seq');
    await reopened.storage.close();

    // Every open starts past the seqs reserved before it, handed out or not.
    const third = await open(dataDir);
    assert.ok(third.storage.watermark.current > seq + 1);
    await third.storage.destroy();
  });

  test('close is idempotent; destroy fails a commit still queued, and the watermark moves past it', async () => {
    const { storage } = await open();
    const request = frames(['q1', 'q2', 'q3']);
    const queued = storage.commit(request, { eventCount: 3, wantsStatuses: true });
    const refused = assert.rejects(queued, (error: AggregatorError) => error.code === 'overloaded');
    await storage.destroy();
    await refused;
    assert.equal(storage.watermark.current, 3, 'a failed range no longer holds the watermark back');
    assert.deepEqual(storage.problems().slice(0, 1), ['shutting down']);
    await Promise.all([storage.close(), storage.close()]);
  });
});
