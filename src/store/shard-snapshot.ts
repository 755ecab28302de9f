/**
 * One shard file's snapshot and restore, for cluster mode (../shared/spec/cluster.md §1, §3).
 *
 * A snapshot is `VACUUM INTO` on a read-only connection: one read transaction, so one consistent
 * state of the shard (rows, counters and the log position that produced them, all committed
 * together), taken while the writer goes on (WAL readers do not block it), compacted. SQLite's
 * page-copying backup would be faster but restarts whenever the writer commits, which under load
 * is always.
 *
 * A restore copies a snapshot INTO the live file through SQLite's backup API, as one write
 * transaction: the reader threads keep their connections and see the old state or the new one,
 * never a mix, and the file keeps its WAL mode. Only the writer must be closed meanwhile.
 */
import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { AggregatorError } from '../errors.js';
import type { LogPosition } from './log-position.js';

export interface SnapshotFile {
  /** The log position the snapshot holds everything through, and the shard clock after it. */
  readonly log: LogPosition;
  readonly bytes: number;
}

/** Writes a snapshot of the shard file `from` to `to` (which must not exist). */
export function snapshotShardFile(from: string, to: string): SnapshotFile {
  const db = new Database(from, { readonly: true, fileMustExist: true, timeout: 5000 });
  try {
    db.prepare('VACUUM INTO ?').run(to);
  } finally {
    db.close();
  }
  return { log: checkSnapshot(to), bytes: statSync(to).size };
}

/**
 * A snapshot's log position, once SQLite finds the file sound and its meta names the expected
 * shard (`expect`, when given); throws `snapshot_unusable` otherwise, so a damaged download or
 * another shard's file is never copied over a replica.
 */
export function checkSnapshot(path: string, expect?: { readonly shard: number; readonly shardCount: number }): LogPosition {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const verdict = db.pragma('quick_check', { simple: true });
    if (verdict !== 'ok') throw new AggregatorError('snapshot_unusable', `snapshot ${path} is damaged (${String(verdict)})`);
    const meta = db.prepare('SELECT value FROM meta WHERE key = ?').pluck();
    if (expect && (Number(meta.get('shard')) !== expect.shard || Number(meta.get('shard_count')) !== expect.shardCount)) {
      throw new AggregatorError('snapshot_unusable', `snapshot ${path} is of shard ${String(meta.get('shard'))} of ${String(meta.get('shard_count'))}, not ${expect.shard} of ${expect.shardCount}`);
    }
    return { seq: Number(meta.get('last_log_seq') ?? 0), clock: Number(meta.get('log_clock') ?? 0) };
  } finally {
    db.close();
  }
}

/** Copies the snapshot `from` over the shard file `to`, whose writer is closed; readers may stay open. */
export async function restoreShardFile(from: string, to: string): Promise<void> {
  const snapshot = new Database(from, { readonly: true, fileMustExist: true });
  try {
    // All pages in one step: one transaction on the live file.
    await snapshot.backup(to, { progress: () => 1 << 30 });
  } finally {
    snapshot.close();
  }
}
