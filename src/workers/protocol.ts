/**
 * What crosses the thread boundary besides the ring bytes: workerData at spawn, and one small
 * result per task. Errors do not survive postMessage intact, so failures come back as
 * `{ ok: false, code, message }` and the main side rebuilds them.
 */
import type { SyncMode } from '../store/shard-db.js';
import type { ShardSnapshot } from '../store/shard-db.js';
import type { TopicCounts } from '../store/tables.js';

export interface ShardWorkerData {
  readonly shard: number;
  readonly shardCount: number;
  readonly path: string;
  readonly sync: SyncMode;
  readonly ring: SharedArrayBuffer;
  readonly drainBytes: number;
}

export interface PageWorkerData {
  readonly dataDir: string;
  readonly shardCount: number;
}

export interface TaskFailure {
  readonly ok: false;
  readonly code: string;
  readonly message: string;
}

export type OpenResult = { readonly ok: true; readonly snapshot: ShardSnapshot } | TaskFailure;

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
}

export type DrainResult = DrainSuccess | TaskFailure;

export interface PageTask {
  readonly topic: string | null;
  readonly afterSeq: number;
  readonly maxSeq: number;
  readonly limit: number;
}

export interface PageResult {
  /** The events, already rendered as a JSON array. */
  readonly eventsJson: string;
  readonly count: number;
  readonly lastSeq: number | null;
}

export function toFailure(error: unknown): TaskFailure {
  const code = (error as { code?: unknown } | null)?.code;
  return {
    ok: false,
    code: typeof code === 'string' ? code : 'internal',
    message: error instanceof Error ? error.message : String(error),
  };
}
