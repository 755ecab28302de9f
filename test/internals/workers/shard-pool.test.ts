import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { kFlagWantsResults } from '../../../src/ring/layout.js';
import type { ShardSnapshot } from '../../../src/store/shard-db.js';
import { ShardPool } from '../../../src/workers/shard-pool.js';
import type { ShardOptions } from '../../../src/workers/shard-slot.js';
import { makeTempDir, waitFor } from '../../helper.js';
import { builtShardWorker } from './built-workers.js';
import { failed, frame, succeeded, tick, ticket, type TestFrame, type TestTicket } from './frames.js';

// A pool of two shards: real shard threads (dist/shard-worker.js, or a fixture around it that
// fails on cue) on real shard files in a temp dir.
const faultyWorker = fileURLToPath(new URL('./faulty-shard-worker.mjs', import.meta.url));

async function openPool(options: Partial<ShardOptions> = {}, dataDir?: string): Promise<{ pool: ShardPool; snapshots: readonly ShardSnapshot[]; dataDir: string }> {
  const dir = dataDir ?? (await makeTempDir('shard-pool-'));
  const { pool, snapshots } = await ShardPool.open({
    dataDir: dir,
    shards: 2,
    ringBytes: 1 << 20,
    drainBytes: 1 << 20,
    durability: { mode: 'normal', intervalMs: 0 },
    shardRetryMs: 50,
    lifecycle: {},
    workerFile: builtShardWorker,
    ...options,
  });
  return { pool, snapshots, dataDir: dir };
}

function queue(pool: ShardPool, shard: number, test: TestFrame, firstSeq: number, flags = kFlagWantsResults): TestTicket {
  const handle = ticket();
  assert.equal(pool.check(shard, test.bodyLength), 'ok');
  pool.queue(shard, { eventCount: test.eventCount, flags, receivedAt: Date.now(), firstSeq }, test.chunks, test.bodyLength, handle.ticket);
  return handle;
}

describe('ShardPool', () => {
  test('frames on two shards settle in ring order with inserted counts and statuses; onCommit runs before; shardStatus counts commits', async () => {
    const commits: { shard: number; inserted: number[]; at: number }[] = [];
    const { pool, snapshots } = await openPool({ onCommit: (shard, result) => commits.push({ shard, inserted: result.inserted, at: tick() }) });
    assert.deepEqual(
      snapshots.map((snapshot) => snapshot.counters.received),
      [0, 0],
    );
    assert.deepEqual(pool.problems(), []);
    assert.equal(pool.shardCount, 2);
    const zeroA = queue(pool, 0, frame(['a1', 'a2']), 1);
    const zeroB = queue(pool, 0, frame(['a2', 'a3']), 3);
    const oneA = queue(pool, 1, frame(['c1']), 5);
    const oneB = queue(pool, 1, frame(['c1']), 6, 0);
    assert.deepEqual(
      pool.shardStatus().map((status) => status.pending_frames),
      [2, 2],
    );
    const [a, b, c, d] = [await succeeded(zeroA), await succeeded(zeroB), await succeeded(oneA), await succeeded(oneB)];
    assert.deepEqual([a.inserted, a.statuses], [2, [1, 1]]);
    assert.deepEqual([b.inserted, b.statuses], [1, [0, 1]], 'a2 again is a duplicate');
    assert.deepEqual([c.inserted, c.statuses], [1, [1]]);
    assert.deepEqual([d.inserted, d.statuses], [0, null], 'a duplicate inserts 0; no statuses unless asked');
    assert.ok(a.at < b.at && c.at < d.at, 'ring order within a shard');

    for (const [shard, outcomes] of [
      [0, [a, b]],
      [1, [c, d]],
    ] as const) {
      const ofShard = commits.filter((commit) => commit.shard === shard);
      assert.deepEqual(
        ofShard.flatMap((commit) => commit.inserted),
        outcomes.map((outcome) => outcome.inserted),
      );
      // Each frame settles after the onCommit of the commit that carried it: find that commit.
      const carriedBy = ofShard.flatMap((commit) => commit.inserted.map(() => commit.at));
      outcomes.forEach((outcome, index) => assert.ok(carriedBy[index]! < outcome.at, `onCommit before frame ${index} of shard ${shard} settled`));
      const status = pool.shardStatus()[shard]!;
      assert.equal(status.commits, ofShard.length);
      assert.equal(status.pending_frames, 0);
      assert.equal(status.healthy, true);
    }
    assert.equal(zeroA.calls() + zeroB.calls() + oneA.calls() + oneB.calls(), 4);
    await pool.close();
  });

  test('check: too_large for a frame over the ring; after close every shard is failed and problems() says shutting down', async () => {
    const { pool } = await openPool();
    assert.equal(pool.ringCapacity, 1 << 20);
    assert.equal(pool.check(1, (1 << 20) - 32), 'ok');
    assert.equal(pool.check(1, 1 << 20), 'too_large');
    assert.equal(pool.freeBytes(), 2 << 20);
    const closing = pool.close();
    assert.equal(pool.check(0, 10), 'failed');
    assert.equal(pool.check(1, 1 << 20), 'failed');
    assert.deepEqual(pool.problems(), ['shutting down']);
    await closing;
    assert.deepEqual(pool.problems(), ['shutting down']);
  });

  test('close is graceful and idempotent: every frame queued before it settles first, and both calls resolve', async () => {
    const { pool } = await openPool();
    const queued = Array.from({ length: 20 }, (_, index) => queue(pool, index % 2, frame([`e${index}`, `e${index}-b`]), 1 + 2 * index));
    const first = pool.close();
    const second = pool.close();
    assert.equal(first, second, 'the same close');
    const settledAt: number[] = [];
    for (const handle of queued) void handle.settled.then((settled) => settledAt.push(settled.at));
    await Promise.all([first, second]);
    const closedAt = tick();
    assert.equal(settledAt.length, 20, 'every frame settled before close resolved');
    for (const handle of queued) {
      const outcome = await succeeded(handle);
      assert.equal(outcome.inserted, 2);
      assert.ok(outcome.at < closedAt);
    }
    await pool.close(); // again, after the end
  });

  test('destroy fails the tickets still pending with overloaded, and is not itself reported as a shard failure', async () => {
    const shardErrors: string[] = [];
    const { pool } = await openPool({ onShardError: (shard, message) => shardErrors.push(`${shard}: ${message}`) });
    const pending = [queue(pool, 0, frame(['a']), 1), queue(pool, 1, frame(['b']), 2)];
    await pool.destroy();
    for (const handle of pending) {
      const error = await failed(handle);
      assert.equal(error.code, 'overloaded');
      assert.equal(handle.calls(), 1);
    }
    assert.deepEqual(pool.problems(), ['shutting down'], 'the threads the pool terminated are not failed shards');
    assert.deepEqual(shardErrors, []);
    assert.equal(pool.check(0, 10), 'failed');
    await pool.close(); // harmless after destroy
  });

  test('--sync full: frames settle once fsynced, and onSynced hears of each shard that committed', async () => {
    const synced: { shard: number; at: number }[] = [];
    const { pool } = await openPool({ durability: { mode: 'full', intervalMs: 0 }, onSynced: (shard) => synced.push({ shard, at: tick() }) });
    const zero = await succeeded(queue(pool, 0, frame(['a', 'b']), 1));
    const one = await succeeded(queue(pool, 1, frame(['c']), 3));
    assert.deepEqual([zero.inserted, one.inserted], [2, 1]);
    for (const [shard, outcome] of [
      [0, zero],
      [1, one],
    ] as const) {
      const first = synced.find((sync) => sync.shard === shard);
      assert.ok(first, `onSynced for shard ${shard}`);
      assert.ok(first.at < outcome.at, `shard ${shard}'s fdatasync returned before its frame settled`);
    }
    await pool.close();
  });

  test('carryRejected makes the count durable with an empty frame, once; a restart returns every persisted counter', async () => {
    const { pool, dataDir } = await openPool();
    await succeeded(queue(pool, 0, frame(['a1', 'a2']), 1));
    pool.carryRejected(3);
    // The count went out with the empty frame: a later frame carries none of it again.
    await succeeded(queue(pool, 1, frame(['b1', 'b1']), 3));
    await succeeded(queue(pool, 0, frame(['a2']), 5));
    await pool.close();

    const reopened = await openPool({}, dataDir);
    assert.deepEqual(
      reopened.snapshots.map((snapshot) => snapshot.counters),
      [
        { received: 3, unique_processed: 2, duplicate_dropped: 1, rejected: 3, last_seq: 5, expired: 0, deleted: 0 },
        { received: 2, unique_processed: 1, duplicate_dropped: 1, rejected: 0, last_seq: 4, expired: 0, deleted: 0 },
      ],
    );
    assert.deepEqual(reopened.snapshots[0]!.topics, [['topic.a', { received: 3, unique: 2, duplicates: 1 }]]);
    await reopened.pool.close();
  });

  test('a failed commit on one shard: its tickets fail (overloaded), problems() names the shard, the other shard goes on, the rejected count waits for a frame, and the shard takes writes again after shardRetryMs', async () => {
    const shardErrors: number[] = [];
    const { pool, dataDir } = await openPool({ workerFile: faultyWorker, shardRetryMs: 100, onShardError: (shard) => shardErrors.push(shard) });
    await succeeded(queue(pool, 0, frame(['warm']), 1));
    writeFileSync(join(dataDir, 'fail-next-commit-0'), '');
    const error = await failed(queue(pool, 0, frame(['lost']), 2));
    assert.equal(error.code, 'overloaded');
    assert.deepEqual(shardErrors, [0]);
    assert.equal(pool.problems().length, 1);
    assert.match(pool.problems()[0]!, /^shard 0: cannot commit \(SQLITE_IOERR\): injected commit failure/);
    assert.equal(pool.check(0, 10), 'failed');
    assert.equal(pool.shardStatus()[0]!.healthy, false);

    // Shard 0 cannot take the empty frame: the count rides with the next frame any shard commits.
    pool.carryRejected(2);
    assert.equal((await succeeded(queue(pool, 1, frame(['other']), 3))).inserted, 1);

    await waitFor(() => pool.problems().length === 0, 'shard 0 to take writes again');
    assert.equal((await succeeded(queue(pool, 0, frame(['lost']), 4))).inserted, 1, 'the failed commit stored nothing');
    await pool.close();
    const reopened = await openPool({}, dataDir);
    assert.deepEqual(
      reopened.snapshots.map((snapshot) => [snapshot.counters.unique_processed, snapshot.counters.rejected]),
      [
        [2, 0],
        [1, 2],
      ],
    );
    await reopened.pool.close();
  });
});
