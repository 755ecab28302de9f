import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { frameBytes, kFlagWantsResults } from '../../../src/ring/layout.js';
import type { FrameHeader } from '../../../src/ring/producer.js';
import { shardPath } from '../../../src/store/data-dir.js';
import type { OpenResult } from '../../../src/workers/protocol.js';
import { ShardSlot, type ShardOptions } from '../../../src/workers/shard-slot.js';
import { makeTempDir, waitFor } from '../../helper.js';
import { builtShardWorker } from './built-workers.js';
import { failed, frame, succeeded, tick, ticket, type TestFrame } from './frames.js';

// One ShardSlot on its own: a real shard thread (dist/shard-worker.js, or a fixture around it
// that fails on cue) and a real shard file in a temp dir, with a fake owner standing in for the pool.
const faultyWorker = fileURLToPath(new URL('./faulty-shard-worker.mjs', import.meta.url));
const crashingWorker = fileURLToPath(new URL('../../fixtures/crashing-shard-worker.mjs', import.meta.url));

interface Started {
  readonly slot: ShardSlot;
  readonly dataDir: string;
  readonly opened: OpenResult;
  readonly owner: { closing: boolean; settled: number };
  readonly errors: string[];
}

async function startSlot(options: Partial<ShardOptions> = {}, dataDir?: string): Promise<Started> {
  const dir = dataDir ?? (await makeTempDir('shard-slot-'));
  const owner = { closing: false, settled: 0 };
  const errors: string[] = [];
  const slot = new ShardSlot(
    0,
    {
      dataDir: dir,
      shards: 1,
      ringBytes: 1 << 16,
      drainBytes: 1 << 16,
      durability: { mode: 'normal', intervalMs: 0 },
      shardRetryMs: 50,
      lifecycle: {},
      workerFile: builtShardWorker,
      onShardError: (_shard, message) => errors.push(message),
      ...options,
    },
    { closing: () => owner.closing, settled: () => owner.settled++ },
  );
  const opened = await slot.open();
  slot.startLoop();
  return { slot, dataDir: dir, opened, owner, errors };
}

const header = (test: TestFrame, firstSeq: number, flags = kFlagWantsResults): FrameHeader => ({ eventCount: test.eventCount, flags, rejected: 0, receivedAt: 1_700_000_000_000, firstSeq });

function write(slot: ShardSlot, test: TestFrame, firstSeq: number, flags = kFlagWantsResults): ReturnType<typeof ticket> {
  const handle = ticket();
  assert.equal(slot.check(test.bodyLength), 'ok');
  slot.write(header(test, firstSeq, flags), test.chunks, test.bodyLength, handle.ticket);
  return handle;
}

function storedRows(dataDir: string): [number, string][] {
  const db = new Database(shardPath(dataDir, 0), { readonly: true });
  try {
    return (db.prepare('SELECT seq, event_id FROM events ORDER BY seq').all() as { seq: number; event_id: string }[]).map((row) => [row.seq, row.event_id]);
  } finally {
    db.close();
  }
}

describe('ShardSlot', () => {
  test('frames settle once each, in ring order, with inserted counts, per-event statuses when asked, and seqs from firstSeq + position', async () => {
    const commits: number[] = [];
    const { slot, dataDir, opened, owner } = await startSlot({ onCommit: (_shard, result) => commits.push(result.inserted.length) });
    assert.ok(opened.ok);
    assert.equal(opened.snapshot.counters.received, 0);
    const first = write(slot, frame(['e1', 'e2']), 1);
    const second = write(slot, frame(['e2', 'e3']), 3); // e2 again: a duplicate
    const third = write(slot, frame(['e4']), 5, 0); // asks for no statuses
    assert.equal(slot.status().pending_frames, 3);
    assert.equal(slot.idle, false);
    const outcomes = [await succeeded(first), await succeeded(second), await succeeded(third)];
    assert.deepEqual(
      outcomes.map(({ inserted, statuses }) => [inserted, statuses]),
      [
        [2, [1, 1]],
        [1, [0, 1]],
        [1, null],
      ],
    );
    assert.ok(outcomes[0]!.at < outcomes[1]!.at && outcomes[1]!.at < outcomes[2]!.at, 'settled in ring order');
    assert.deepEqual([first.calls(), second.calls(), third.calls()], [1, 1, 1]);
    assert.ok(owner.settled > 0, 'the owner hears of settled tickets');
    const status = slot.status();
    assert.equal(status.pending_frames, 0);
    assert.equal(status.healthy, true);
    assert.equal(status.commits, commits.length, 'one commit per drain that carried frames');
    assert.equal(commits.reduce((sum, frames) => sum + frames, 0), 3);
    assert.equal(slot.idle, true);
    await slot.stop();
    assert.deepEqual(storedRows(dataDir), [
      [1, 'e1'],
      [2, 'e2'],
      [4, 'e3'],
      [5, 'e4'],
    ]);
  });

  test('commits are counted one by one, and a restart opens with the persisted counters', async () => {
    const { slot, dataDir } = await startSlot();
    await succeeded(write(slot, frame(['a']), 1));
    assert.equal(slot.status().commits, 1);
    await succeeded(write(slot, frame(['b', 'a']), 2));
    assert.equal(slot.status().commits, 2);
    assert.ok(slot.status().last_commit_ms >= 0);
    await slot.stop();
    const again = await startSlot({}, dataDir);
    assert.ok(again.opened.ok);
    assert.deepEqual(again.opened.snapshot.counters, { received: 3, unique_processed: 2, duplicate_dropped: 1, rejected: 0, last_seq: 3, expired: 0, deleted: 0 });
    assert.equal(again.slot.status().commits, 0, 'the commit count is per run');
    await again.slot.stop();
  });

  test('check: too_large past the ring, full while the writer holds the ring, ok again once it commits', async () => {
    const { slot, dataDir } = await startSlot({ workerFile: faultyWorker });
    const capacity = slot.status().ring_capacity_bytes;
    assert.equal(capacity, 1 << 16);
    assert.equal(slot.check(capacity - 32), 'ok', 'a frame exactly the ring size fits an empty ring');
    assert.equal(frameBytes(capacity - 31) > capacity, true);
    assert.equal(slot.check(capacity - 31), 'too_large');
    await succeeded(write(slot, frame(['warm']), 1)); // the loop is up

    writeFileSync(join(dataDir, 'hold-commits'), '');
    // Frames of one size (ids of one length), until the ring has no room for the next.
    const next = (): TestFrame => frame([`f${String(queued.length).padStart(4, '0')}`], 'topic.a', 2000);
    const queued: ReturnType<typeof ticket>[] = [];
    const big = next();
    for (let item = next(); slot.check(item.bodyLength) === 'ok'; item = next()) {
      assert.ok(queued.length < 1000, 'the ring never filled');
      const handle = ticket();
      slot.write(header(item, 2 + queued.length), item.chunks, item.bodyLength, handle.ticket);
      queued.push(handle);
    }
    assert.equal(slot.check(big.bodyLength), 'full');
    assert.ok(slot.freeBytes < frameBytes(big.bodyLength) * 2);
    assert.equal(slot.status().ring_used_bytes, capacity - slot.freeBytes);
    assert.ok(queued.length >= 20, `${queued.length} frames of ~2 KiB in a 64 KiB ring`);

    rmSync(join(dataDir, 'hold-commits'));
    const outcomes = await Promise.all(queued.map(succeeded));
    assert.deepEqual(
      outcomes.map((outcome) => outcome.inserted),
      queued.map(() => 1),
    );
    assert.equal(slot.check(big.bodyLength), 'ok');
    assert.equal(slot.status().ring_used_bytes, 0);
    await slot.stop();
  });

  test('a failed commit fails its frames (overloaded), the shard refuses writes for shardRetryMs, then a probe brings it back', async () => {
    const shardRetryMs = 200;
    let failedAt = 0;
    const reported: string[] = [];
    const { slot, dataDir } = await startSlot({
      workerFile: faultyWorker,
      shardRetryMs,
      onShardError: (_shard, message) => {
        failedAt = performance.now();
        reported.push(message);
      },
    });
    await succeeded(write(slot, frame(['before']), 1));
    writeFileSync(join(dataDir, 'fail-next-commit-0'), '');
    const lost = write(slot, frame(['during']), 2);
    const error = await failed(lost);
    assert.equal(error.code, 'overloaded');
    assert.match(error.message, /shard 0 cannot commit \(SQLITE_IOERR\): injected commit failure/);
    assert.equal(lost.calls(), 1);
    assert.equal(reported.length, 1, 'onShardError is called once per failed commit');
    assert.deepEqual(slot.problems(), reported);
    assert.match(reported[0]!, /^cannot commit \(SQLITE_IOERR\)/);
    assert.equal(slot.check(10), 'failed');
    assert.equal(slot.status().healthy, false);
    assert.equal(slot.status().ring_used_bytes, 0, 'the failed frames left the ring');

    await waitFor(() => slot.problems().length === 0, 'the probe to clear the failure');
    assert.ok(performance.now() - failedAt >= shardRetryMs - 1, 'no probe before shardRetryMs');
    assert.equal(slot.check(10), 'ok');
    // The failed commit rolled back: its event is new to the shard.
    assert.deepEqual((await succeeded(write(slot, frame(['during']), 3))).statuses, [1]);
    await slot.stop();
    assert.deepEqual(storedRows(dataDir), [
      [1, 'before'],
      [3, 'during'],
    ]);
  });

  test('a shard thread that dies fails its frames (overloaded), is reported, and is replaced after shardRetryMs', async () => {
    const { slot, dataDir, errors } = await startSlot({ workerFile: crashingWorker });
    await succeeded(write(slot, frame(['before']), 1));
    writeFileSync(join(dataDir, 'crash-next-commit'), '');
    const error = await failed(write(slot, frame(['during']), 2));
    assert.equal(error.code, 'overloaded');
    assert.equal(errors.length, 1);
    assert.deepEqual(slot.problems(), [errors[0]]);
    assert.equal(slot.check(10), 'failed');
    await waitFor(() => slot.problems().length === 0, 'the replacement thread to start its loop');
    assert.equal((await succeeded(write(slot, frame(['during']), 3))).inserted, 1, 'nothing of the dead commit was kept');
    await slot.stop();
    assert.deepEqual(storedRows(dataDir), [
      [1, 'before'],
      [3, 'during'],
    ]);
  });

  test('destroy fails the frames still pending with overloaded, each once', async () => {
    const { slot, owner } = await startSlot();
    const pending = [write(slot, frame(['a']), 1), write(slot, frame(['b']), 2)];
    owner.closing = true; // as the pool does before destroying: no replacement loop starts
    await slot.destroy(); // in the same turn: no completion record was collected yet
    for (const handle of pending) {
      const error = await failed(handle);
      assert.equal(error.code, 'overloaded');
      assert.match(error.message, /stopping/);
      assert.equal(handle.calls(), 1);
    }
    assert.equal(slot.idle, true);
  });

  test('--sync full: a frame settles only after an fdatasync of the WAL returned', async () => {
    const synced: [shard: number, at: number][] = [];
    const { slot } = await startSlot({ durability: { mode: 'full', intervalMs: 0 }, onSynced: (shard, milliseconds) => synced.push([shard, milliseconds >= 0 ? tick() : -1]) });
    const handle = write(slot, frame(['a', 'b']), 1);
    const outcome = await succeeded(handle);
    assert.deepEqual([outcome.inserted, outcome.statuses], [2, [1, 1]]);
    assert.ok(synced.length >= 1);
    assert.equal(synced[0]![0], 0);
    assert.ok(synced[0]![1] > 0 && synced[0]![1] < outcome.at, 'the fdatasync returned before the frame settled');
    assert.equal(slot.idle, true, 'nothing waits for an fsync once settled');
    await slot.stop();
  });
});
