/**
 * What crosses the thread boundary besides the frames: workerData at spawn, the result of the
 * `open` task, and one completion record per group commit, which the shard loop writes as msgpack
 * into its completion ring (no message on the data path). Errors do not survive postMessage
 * intact, so failures travel as `{ ok: false, error: WireError }` and the main side rebuilds them
 * with `fromWire`.
 */
import { toWire, type WireError } from '../errors.js';
import type { GroupReply } from '../groups/model.js';
import type { ShardLifecycle, ShardSnapshot } from '../store/shard-db.js';
import type { TopicCounts } from '../store/tables.js';

export interface ShardWorkerData {
  readonly shard: number;
  readonly shardCount: number;
  readonly path: string;
  /** Frames in (ingress → shard), with the doorbell and control words in its header. */
  readonly ring: SharedArrayBuffer;
  /** Completion records out (shard → ingress), one per commit, in ring order. */
  readonly completions: SharedArrayBuffer;
  readonly drainBytes: number;
  /** Retention, field indexes, forgetting and this shard's share of the data-dir budget. */
  readonly lifecycle: ShardLifecycle;
}

export interface PageWorkerData {
  readonly dataDir: string;
  readonly shardCount: number;
}

export interface TaskFailure {
  readonly ok: false;
  readonly error: WireError;
}

export type OpenResult = { readonly ok: true; readonly snapshot: ShardSnapshot } | TaskFailure;

/** A restore's outcome: the shard's counters before and after it. */
export type RestoreResult = { readonly ok: true; readonly before: ShardSnapshot; readonly after: ShardSnapshot } | TaskFailure;

/** One group commit; `inserted` is empty for the loop's first record and for a successful probe. */
export interface DrainSuccess {
  readonly ok: true;
  /** Per committed frame, in ring order: how many of its events were new. */
  readonly inserted: number[];
  /** Per committed frame: 1 stored / 0 duplicate per event, or null when the frame did not ask. */
  readonly statuses: (Uint8Array | null)[];
  readonly topics: [topic: string, counts: TopicCounts][];
  readonly rejected: number;
  readonly lastSeq: number;
  /** Events in the committed frames. */
  readonly events: number;
  readonly commitMs: number;
  /** Events an expiry slice (a record of its own) or the commit's expire commands (cluster mode) removed, by topic. */
  readonly expired: [topic: string, count: number][];
  /** Events the commit's deletions removed, by topic. */
  readonly deleted: [topic: string, count: number][];
  /** Events committed and not yet in the search index, after this record. */
  readonly searchPending: number;
  /** The answers of the consumer group commands among the committed frames: [frame position, answer]. */
  readonly replies?: [position: number, reply: GroupReply][];
}

export type Completion = DrainSuccess | TaskFailure;

export function toFailure(error: unknown): TaskFailure {
  return { ok: false, error: toWire(error) };
}
