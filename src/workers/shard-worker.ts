/**
 * Runs inside shard k's thread (Piscina loads this file by path). It owns shard k's writer
 * connection and is ring k's only consumer. Nothing happens at import: the database opens on the
 * first task, so importing this module elsewhere has no side effects.
 */
import { threadId } from 'node:worker_threads';
import { workerData } from 'piscina';
import { decodeRecords, payloadJson } from '../ring/codec.js';
import { kFlagWantsResults } from '../ring/layout.js';
import { RingConsumer } from '../ring/consumer.js';
import { ShardDb, type StoreBatch, type StoreEvent } from '../store/shard-db.js';
import { toFailure, type DrainResult, type OpenResult, type ShardWorkerData } from './protocol.js';

interface ShardState {
  readonly db: ShardDb;
  readonly ring: RingConsumer;
  readonly drainBytes: number;
}

let state: ShardState | null = null;

function shardState(): ShardState {
  if (state) return state;
  const data = workerData as ShardWorkerData;
  state = {
    db: new ShardDb({ path: data.path, shard: data.shard, shardCount: data.shardCount, sync: data.sync }),
    ring: new RingConsumer(data.ring),
    drainBytes: data.drainBytes,
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

/** Commits every frame queued in the ring (up to the group-commit cap) in one transaction. */
export function drain(): DrainResult {
  let claimed = false;
  try {
    const { db, ring, drainBytes } = shardState();
    ring.claim(threadId);
    claimed = true;
    const started = performance.now();
    const batch = ring.take(drainBytes);
    const storeBatches = batch.frames.map(
      (frame): StoreBatch => ({
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
      }),
    );
    const outcome = db.commit(storeBatches);
    ring.release(batch.end);
    return {
      ok: true,
      inserted: outcome.batches.map((batchOutcome) => batchOutcome.inserted),
      statuses: outcome.batches.map((batchOutcome) => batchOutcome.statuses),
      topics: [...outcome.topics],
      rejected: outcome.rejected,
      lastSeq: outcome.lastSeq,
      events: storeBatches.reduce((sum, storeBatch) => sum + storeBatch.events.length, 0),
      commitMs: performance.now() - started,
    };
  } catch (error) {
    return toFailure(error);
  } finally {
    if (claimed) state?.ring.unclaim(threadId);
  }
}

export function close(): void {
  state?.db.close();
  state = null;
}
