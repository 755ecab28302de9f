/**
 * Runs inside shard k's thread (Piscina loads this file by path). It owns shard k's writer
 * connection and is ring k's only consumer. Nothing happens at import: the database opens on the
 * first task, so importing this module elsewhere has no side effects.
 *
 * Two tasks: `open` (at start: open the file, report its counters) and `run`, ONE long-lived task
 * that is the shard's loop until told to stop:
 *
 *   ┌─> control? Stop → close the db, return · Paused → wait · Probe → empty commit
 *   │   frames in the ring? no → words to index and the pacer allows? one index slice · else sleep on the doorbell (Atomics.wait)
 *   │   take frames (≤ --drain-bytes) → ONE transaction → release their ring space
 *   └── completion record → completion ring → notify the ingress thread (Atomics.waitAsync there)
 *
 * A failed commit writes a failure record and pauses the loop; the ingress thread resets the ring
 * and later asks for a probe. A dying thread rejects the `run` task: Piscina reports it.
 */
import { rmSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import { workerData } from 'piscina';
import { decodeRecords, packMessage, payloadJson, unpackLogFrame, unpackMessage, type EncodedRecord } from '../ring/codec.js';
import { RingConsumer, type Frame } from '../ring/consumer.js';
import { kFlagCommand, kFlagLog, kFlagWantsResults } from '../ring/layout.js';
import { RingProducer } from '../ring/producer.js';
import { ShardControl, ShardSignals } from '../ring/signals.js';
import type { ShardCommand } from '../store/shard-commands.js';
import { clockAfter } from '../store/log-position.js';
import type { GroupReply } from '../groups/model.js';
import { ShardDb, type BatchOutcome, type StoreBatch, type StoreEvent } from '../store/shard-db.js';
import { checkSnapshot, restoreShardFile } from '../store/shard-snapshot.js';
import { AggregatorError } from '../errors.js';
import { IndexPacer } from './index-pacer.js';
import { toFailure, type Completion, type DrainSuccess, type OpenResult, type RestoreResult, type ShardWorkerData } from './protocol.js';

/** Fault injection for tests: called inside the commit's transaction, after its rows are inserted. */
export interface LoopHooks {
  readonly insideCommit?: (events: number) => void;
}

interface ShardState {
  readonly db: ShardDb;
  readonly ring: RingConsumer;
  readonly signals: ShardSignals;
  readonly completions: RingProducer;
  readonly drainBytes: number;
  /** The seq stride of a log frame's events: the shard count, so every shard's seqs are its own residue. */
  readonly shardCount: number;
}

/** How often a shard with retention rules looks for expired events, and how many rows one slice may examine. */
const kExpiryIntervalMs = 1000;
const kExpiryBudget = 500;
/** Events one search index slice takes (~8 ms): what a commit that arrives meanwhile may wait. */
const kIndexBudget = 512;

let state: ShardState | null = null;
let hooks: LoopHooks = {};

function shardState(): ShardState {
  if (state) return state;
  const data = workerData as ShardWorkerData;
  state = {
    db: new ShardDb({ path: data.path, shard: data.shard, shardCount: data.shardCount, ...data.lifecycle, insideCommit: (events) => hooks.insideCommit?.(events) }),
    ring: new RingConsumer(data.ring),
    signals: new ShardSignals(data.ring),
    completions: new RingProducer(data.completions),
    drainBytes: data.drainBytes,
    shardCount: data.shardCount,
  };
  return state;
}

export function open(): OpenResult {
  try {
    return { ok: true, snapshot: shardState().db.snapshot() };
  } catch (error) {
    return toFailure(error);
  }
}

/**
 * Between loops only (the ingress side stopped the loop): replaces the shard's contents with the
 * snapshot file `from` (cluster mode, a replica the log no longer reaches back to), reopens it,
 * and reports the counters before and after, which the ingress thread's totals move by.
 */
export async function restore(task: { readonly from: string | null }): Promise<RestoreResult> {
  try {
    const data = workerData as ShardWorkerData;
    const before = shardState().db.snapshot();
    if (task.from !== null) {
      // Forward only: a replica is never set back behind what it applied (and acknowledged).
      const log = checkSnapshot(task.from, { shard: data.shard, shardCount: data.shardCount });
      if (log.seq < before.log.seq) throw new AggregatorError('snapshot_unusable', `the snapshot holds through log position ${log.seq}, behind this replica's ${before.log.seq}`);
    }
    state!.db.close();
    state = null;
    if (task.from !== null) await restoreShardFile(task.from, data.path);
    else await emptyShardFile(data);
    return { ok: true, before, after: shardState().db.snapshot() };
  } catch (error) {
    return toFailure(error);
  }
}

/**
 * A replica let go (cluster mode, placement moved it): the file becomes a new, empty shard. Copied
 * into the live file like a snapshot, so the reader threads' connections stay valid.
 */
async function emptyShardFile(data: ShardWorkerData): Promise<void> {
  const empty = `${data.path}.empty`;
  rmSync(empty, { force: true });
  try {
    new ShardDb({ path: empty, shard: data.shard, shardCount: data.shardCount, ...data.lifecycle }).close();
    await restoreShardFile(empty, data.path);
  } finally {
    for (const file of [empty, `${empty}-wal`, `${empty}-shm`]) rmSync(file, { force: true });
  }
}

/** The shard's loop; resolves once told to stop (the database is closed by then). */
export function run(loopHooks: LoopHooks | null): void {
  hooks = loopHooks ?? {};
  // A file that cannot open, or a second consumer, throws here: the task rejects, as a dead thread's does.
  const shard = shardState();
  shard.ring.claim(threadId);
  const { ring, signals } = shard;
  try {
    // The first record tells the ingress thread this loop is up (and clears a failure after a restart).
    complete(shard, commit(shard, []));
    let nextExpiry = 0;
    const pacer = new IndexPacer();
    for (;;) {
      const control = signals.control;
      if (control === ShardControl.Stop) return;
      if (control === ShardControl.Paused) {
        signals.waitWhilePaused();
        continue;
      }
      if (control === ShardControl.Probe) {
        const probe = commit(shard, []);
        if (probe.ok && !signals.transition(ShardControl.Probe, ShardControl.Run)) continue;
        complete(shard, probe);
        continue;
      }
      // Expiry slices interleave with commits: one slice, then whatever frames came meanwhile.
      if (shard.db.expires && performance.now() >= nextExpiry) {
        const slice = expireSlice(shard);
        if (slice === null) continue;
        nextExpiry = slice.more ? 0 : performance.now() + kExpiryIntervalMs;
      }
      const batch = ring.take(shard.drainBytes);
      if (batch.frames.length === 0) {
        const indexing = shard.db.indexWanted;
        if (indexing && pacer.wait() === 0) {
          const started = performance.now();
          pacer.ran(started, indexSlice(shard));
          continue;
        }
        signals.sleep(Math.min(indexing ? pacer.wait() : Infinity, shard.db.expires ? Math.max(0, nextExpiry - performance.now()) : Infinity));
        continue;
      }
      pacer.committed();
      const outcome = commit(shard, batch.frames);
      if (outcome.ok) ring.release(batch.end);
      complete(shard, outcome);
    }
  } finally {
    ring.unclaim(threadId);
    state?.db.close();
    state = null;
  }
}

function commit(shard: ShardState, frames: readonly Frame[]): Completion {
  try {
    const started = performance.now();
    const batches = frames.map((frame) => toStoreBatch(frame, shard.shardCount));
    const outcome = shard.db.commit(batches);
    return {
      ok: true,
      inserted: outcome.batches.map((batch) => batch.inserted),
      statuses: outcome.batches.map((batch) => batch.statuses),
      topics: [...outcome.topics],
      rejected: outcome.rejected,
      lastSeq: outcome.lastSeq,
      events: batches.reduce((sum, batch) => sum + batch.events.length, 0),
      commitMs: performance.now() - started,
      expired: [...outcome.expired],
      deleted: [...outcome.deleted],
      searchPending: shard.db.indexPending,
      ...replies(outcome.batches),
    };
  } catch (error) {
    return toFailure(error);
  }
}

/** Group commands' answers, only when the commit had any: a completion record stays small. */
function replies(batches: readonly BatchOutcome[]): Pick<DrainSuccess, 'replies'> {
  const found: [number, GroupReply][] = [];
  batches.forEach((batch, position) => {
    if (batch.reply) found.push([position, batch.reply]);
  });
  return found.length > 0 ? { replies: found } : {};
}

/** One expiry transaction; its counts go out as a record of their own. Null: it failed, and the loop is paused. */
function expireSlice(shard: ShardState): { more: boolean } | null {
  try {
    const started = performance.now();
    const { expired, more } = shard.db.expire(Date.now(), kExpiryBudget);
    if (expired.length > 0) complete(shard, { ...kNoCommit, commitMs: performance.now() - started, expired, searchPending: shard.db.indexPending });
    return { more };
  } catch (error) {
    complete(shard, toFailure(error));
    return null;
  }
}

/**
 * One search index slice; its progress goes out as a record of its own. False: it failed. The
 * index is derived data, so a failure does not stop commits: the loop tries again later.
 */
function indexSlice(shard: ShardState): boolean {
  try {
    const started = performance.now();
    const { pending } = shard.db.indexSlice(kIndexBudget);
    complete(shard, { ...kNoCommit, commitMs: performance.now() - started, searchPending: pending });
    return true;
  } catch {
    return false;
  }
}

/** A record that commits nothing (an expiry or index slice): the ingress side moves no tickets for it. */
const kNoCommit: DrainSuccess = { ok: true, inserted: [], statuses: [], topics: [], rejected: 0, lastSeq: 0, events: 0, commitMs: 0, expired: [], deleted: [], searchPending: 0 };

/** Publishes a completion; a failure pauses the loop first, so the ingress thread may reset the ring. */
function complete(shard: ShardState, completion: Completion): void {
  if (!completion.ok) shard.signals.transition(shard.signals.control === ShardControl.Probe ? ShardControl.Probe : ShardControl.Run, ShardControl.Paused);
  writeCompletion(shard.completions, completion);
}

function writeCompletion(completions: RingProducer, completion: Completion): void {
  const bytes = packMessage(completion);
  completions.waitForRoom(bytes.length);
  completions.write({ eventCount: 0, flags: 0, rejected: 0, receivedAt: 0, firstSeq: 0 }, [bytes], bytes.length);
  completions.notifyWritten();
}

function toStoreBatch(frame: Frame, shardCount: number): StoreBatch {
  if ((frame.flags & kFlagLog) !== 0) return toLogBatch(frame, shardCount);
  if ((frame.flags & kFlagCommand) !== 0) {
    return { receivedAt: frame.receivedAt, rejected: frame.rejected, wantsStatuses: false, events: [], command: unpackMessage(frame.body) as ShardCommand };
  }
  return {
    receivedAt: frame.receivedAt,
    rejected: frame.rejected,
    wantsStatuses: (frame.flags & kFlagWantsResults) !== 0,
    events: decodeRecords(frame.body).map(
      (record): StoreEvent => ({
        seq: frame.firstSeq + record[0],
        topic: record[1],
        eventId: record[2],
        timestamp: record[3],
        source: record[4],
        payload: payloadJson(record),
      }),
    ),
  };
}

/**
 * A message of the shard's log (cluster mode). Everything comes from the log, so every replica
 * builds the same batch: its position, the clock the shard host derived from the message's
 * log timestamp (`firstSeq`), the receive time and rejected count the publishing node wrote.
 */
function toLogBatch(frame: Frame, shardCount: number): StoreBatch {
  const [logSeq, ...items] = unpackLogFrame(frame.body);
  const common = { receivedAt: frame.receivedAt, rejected: frame.rejected, wantsStatuses: true, logSeq: logSeq as number };
  if ((frame.flags & kFlagCommand) !== 0) return { ...common, events: [], command: items[0] as ShardCommand, logClock: frame.firstSeq };
  const records = items as EncodedRecord[];
  // The shard host advanced its own clock by the count the message declared: they must agree.
  if (records.length !== frame.eventCount) throw new AggregatorError('log_malformed', `log message ${String(logSeq)} declares ${frame.eventCount} events and carries ${records.length}`);
  return {
    ...common,
    logClock: clockAfter(frame.firstSeq, records.length, shardCount),
    events: records.map(
      (record, index): StoreEvent => ({
        seq: frame.firstSeq + index * shardCount,
        topic: record[1],
        eventId: record[2],
        timestamp: record[3],
        source: record[4],
        payload: payloadJson(record),
      }),
    ),
  };
}
