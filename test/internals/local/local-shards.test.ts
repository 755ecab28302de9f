import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { AggregatorError } from '../../../src/errors.js';
import type { EngineHooks, LocalConfig, LocalFrame, LocalMode, LocalShards, LogEntry } from '../../../src/local/local-shards.js';
import { kFlagWantsResults } from '../../../src/ring/layout.js';
import { clockAfter, firstSeqOf } from '../../../src/store/log-position.js';
import { makeTempDir, waitFor } from '../../helper.js';
import { useBuiltWorkers } from '../workers/built-workers.js';
import { failed, frame, succeeded, ticket, type TestFrame } from '../workers/frames.js';

// LocalShards over two real shard threads and a reader thread, on real shard files in a temp dir.
// Worker threads run the built entries (dist/), so the src modules load after the resolve hook.
useBuiltWorkers();
const { LocalShards: Local } = await import('../../../src/local/local-shards.js');

const faultyWorker = fileURLToPath(new URL('../workers/faulty-shard-worker.mjs', import.meta.url));
const embedded: LocalMode = { durability: { mode: 'normal', intervalMs: 0 }, lifecycle: {}, rejectedFromFrames: false };
const cluster: LocalMode = { ...embedded, rejectedFromFrames: true };

const config = (dataDir: string): LocalConfig => ({ dataDir, shards: 2, ringBytes: 1 << 20, drainBytes: 1 << 20, shardRetryMs: 50, readers: 1, minFreeBytes: 0 });

async function open(mode: LocalMode, dataDir?: string, hooks: EngineHooks = {}): Promise<{ local: LocalShards; dataDir: string }> {
  const dir = dataDir ?? (await makeTempDir('local-shards-'));
  return { local: await Local.open(config(dir), mode, hooks), dataDir: dir };
}

const localFrame = (shard: number, test: TestFrame, firstSeq: number): LocalFrame => ({
  shard,
  header: { eventCount: test.eventCount, flags: kFlagWantsResults, receivedAt: 1_700_000_000_000, firstSeq },
  chunks: test.chunks,
  bodyLength: test.bodyLength,
});

/** The counters as numbers, not the live object. */
const totalsOf = (local: LocalShards) => ({ ...local.stats().totals() });

/** Every stored event, in seq order, as [seq, event_id]. */
async function stored(local: LocalShards): Promise<[number, string][]> {
  const page = await local.pages.page({ topic: null, filter: null, afterSeq: 0, maxSeq: Number.MAX_SAFE_INTEGER, limit: 100 });
  return (JSON.parse(page.eventsJson) as { seq: number; event_id: string }[]).map((event) => [event.seq, event.event_id]);
}

/** A log message of events as it was published: their msgpack records back to back. */
function logEntry(position: number, firstSeq: number, ids: readonly string[], extra: Partial<LogEntry> = {}): LogEntry {
  const { chunks, eventCount } = frame(ids);
  return { position, firstSeq, eventCount, command: false, receivedAt: 1_700_000_000_000, rejected: 0, data: Buffer.concat(chunks), ...extra };
}

/** Applies an entry to shard 1 (it must be queued) and answers its ticket's outcome. */
function apply(local: LocalShards, entry: LogEntry): ReturnType<typeof ticket> {
  const handle = ticket();
  assert.equal(local.apply(1, entry, handle.ticket), 'ok');
  return handle;
}

describe('LocalShards', () => {
  test('queueAll resolves one outcome per frame in call order; the totals move by the commit; the reader threads see it', async () => {
    const { local } = await open(embedded);
    assert.equal(local.shardCount, 2);
    assert.equal(local.frameCapacity, 1 << 20);
    assert.equal(local.diskProblem, null);
    assert.deepEqual(local.problems(), []);
    assert.equal(local.check(0, 100), 'ok');
    assert.deepEqual(totalsOf(local), { received: 0, unique: 0, duplicates: 0, rejected: 0, expired: 0, deleted: 0 });

    const outcomes = await local.queueAll([localFrame(1, frame(['b1', 'b2']), 1), localFrame(0, frame(['a1']), 3), localFrame(1, frame(['b2']), 4)]);
    assert.deepEqual(
      outcomes.map((outcome) => [outcome.inserted, outcome.statuses && [...outcome.statuses]]),
      [
        [2, [1, 1]],
        [1, [1]],
        [0, [0]],
      ],
    );
    assert.deepEqual(totalsOf(local), { received: 4, unique: 3, duplicates: 1, rejected: 0, expired: 0, deleted: 0 });
    assert.deepEqual(local.stats().topics().get('topic.a'), { received: 4, unique: 3, duplicates: 1 });
    assert.deepEqual(
      local.stats().shardStatus().map((status) => status.commits > 0),
      [true, true],
    );
    assert.deepEqual(await stored(local), [
      [1, 'b1'],
      [2, 'b2'],
      [3, 'a1'],
    ]);
    await local.close();
  });

  test('queueAll rejects with the failure once every frame settled, when one frame fails', async () => {
    const { local, dataDir } = await open(embedded, undefined, { shardWorkerFile: faultyWorker });
    await local.queueAll([localFrame(0, frame(['warm0']), 1), localFrame(1, frame(['warm1']), 2)]);
    writeFileSync(join(dataDir, 'fail-next-commit-0'), '');
    // Shard 0's commit fails, shard 1's succeeds: the request fails whole.
    const failing = local.queueAll([localFrame(1, frame(['kept']), 3), localFrame(0, frame(['lost']), 4)]);
    await assert.rejects(failing, (error: AggregatorError) => error.code === 'overloaded' && /injected commit failure/.test(error.message));
    assert.match(local.problems().join('\n'), /^shard 0: cannot commit/);
    assert.equal(local.check(0, 10), 'failed');
    assert.equal(local.check(1, 10), 'ok');
    assert.deepEqual(totalsOf(local), { received: 3, unique: 3, duplicates: 0, rejected: 0, expired: 0, deleted: 0 }, 'the failed commit moved no totals; the other one did');
    await waitFor(() => local.problems().length === 0, 'shard 0 to take writes again');
    await local.close();
  });

  test('recordRejected counts now and on disk: a reopen loads every counter back into the totals', async () => {
    const { local, dataDir } = await open(embedded);
    await local.queueAll([localFrame(0, frame(['a1', 'a1']), 1), localFrame(1, frame(['b1']), 3)]);
    local.recordRejected(4);
    assert.equal(totalsOf(local).rejected, 4, 'at once');
    const before = totalsOf(local);
    await local.close();

    const reopened = await open(embedded, dataDir);
    assert.deepEqual(totalsOf(reopened.local), before);
    assert.deepEqual(before, { received: 3, unique: 2, duplicates: 1, rejected: 4, expired: 0, deleted: 0 });
    assert.deepEqual(
      reopened.local.opened.map((snapshot) => snapshot.counters.rejected),
      [4, 0],
    );
    assert.deepEqual(reopened.local.stats().topics().get('topic.a'), { received: 3, unique: 2, duplicates: 1 });
    await reopened.local.close();
  });

  test('apply commits a log message at its position, with seqs from its first seq by the shard count; a gap fails the ticket (log_gap); a reopen shows the position', async () => {
    const { local, dataDir } = await open(cluster);
    const first = firstSeqOf(0, 1_700_000_000_000_000, 1, 2);
    assert.equal(first % 2, 1, 'shard 1 of 2 owns the odd seqs');
    const one = await succeeded(apply(local, logEntry(1, first, ['m1', 'm2'], { rejected: 3 })));
    assert.deepEqual([one.inserted, one.statuses], [2, [1, 1]]);
    assert.equal(totalsOf(local).rejected, 3, 'cluster mode: rejected counts arrive with the frames');

    const second = firstSeqOf(clockAfter(first, 2, 2), 0, 1, 2);
    const two = await succeeded(apply(local, logEntry(2, second, ['m2', 'm3'])));
    assert.deepEqual([two.inserted, two.statuses], [1, [0, 1]]);

    const third = firstSeqOf(clockAfter(second, 2, 2), 0, 1, 2);
    const gap = apply(local, logEntry(4, third, ['m4']));
    const error = await failed(gap);
    assert.equal(error.code, 'overloaded');
    assert.match(error.message, /log_gap/);
    assert.match(local.problems().join('\n'), /^shard 1: cannot commit \(log_gap\)/);
    assert.equal(local.apply(1, logEntry(3, third, ['m4']), ticket().ticket), 'failed', 'nothing is queued while the shard refuses');
    await waitFor(() => local.problems().length === 0, 'shard 1 to take writes again');

    const malformed = apply(local, logEntry(3, third, ['m4'], { eventCount: 2 }));
    assert.match((await failed(malformed)).message, /log_malformed/);
    await waitFor(() => local.problems().length === 0, 'shard 1 to take writes again');

    assert.equal((await succeeded(apply(local, logEntry(3, third, ['m4'])))).inserted, 1);
    assert.deepEqual(totalsOf(local), { received: 5, unique: 4, duplicates: 1, rejected: 3, expired: 0, deleted: 0 });
    await local.close();

    const reopened = await open(cluster, dataDir);
    assert.deepEqual(reopened.local.opened[1]!.log, { seq: 3, clock: third });
    assert.deepEqual(reopened.local.opened[0]!.log, { seq: 0, clock: 0 });
    assert.deepEqual(await stored(reopened.local), [
      [first, 'm1'],
      [first + 2, 'm2'],
      [second + 2, 'm3'],
      [third, 'm4'],
    ]);
    await reopened.local.close();
  });

  test('an empty request settles at once', async () => {
    const { local } = await open(embedded);
    assert.deepEqual(await local.queueAll([]), []);
    await local.close();
  });

  test('close is idempotent and refuses new frames; destroy after close is harmless', async () => {
    const { local } = await open(embedded);
    const queued = local.queueAll([localFrame(0, frame(['a']), 1), localFrame(1, frame(['b']), 2)]);
    const first = local.close();
    const second = local.close();
    assert.equal(first, second);
    assert.equal(local.check(0, 10), 'failed');
    assert.deepEqual(local.problems(), ['shutting down']);
    await Promise.all([first, second]);
    assert.deepEqual(
      (await queued).map((outcome) => outcome.inserted),
      [1, 1],
      'what was queued before close is committed',
    );
    await local.destroy();
    await local.close();
  });

  test('destroy fails what is still queued with overloaded', async () => {
    const { local } = await open(embedded);
    const queued = local.queueAll([localFrame(0, frame(['a']), 1), localFrame(1, frame(['b']), 2)]);
    const refused = assert.rejects(queued, (error: AggregatorError) => error.code === 'overloaded');
    await local.destroy();
    await refused;
    assert.equal(local.check(0, 10), 'failed');
  });
});
