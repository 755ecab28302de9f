/**
 * Keeping the logs short (../shared/spec/cluster.md §1, §3). The owner of a shard snapshots its
 * replica now and then, stores it, moves the shard's pointer to it, and purges the stream below
 * the snapshot before it; a replica the log no longer reaches back to (and a node joining with
 * nothing) restores the latest snapshot and reads on after it.
 *
 * Why a stale owner cannot do harm: a replica is a function of the log, so any node's snapshot at
 * position s is every node's; the pointer moves only forward, by compare-and-set; and the purge
 * goes only below the snapshot the pointer named before, after this node checked that its lease
 * is still held. So the log always reaches back to the snapshot before the latest, which lets a
 * replica a little behind read on instead of rebuilding, and lets a node restore either of the two
 * snapshots kept.
 */
import { rmSync } from 'node:fs';
import { AggregatorError } from '../errors.js';
import { join } from 'node:path';
import type { LogPosition } from '../store/log-position.js';
import type { LocalShards } from '../local/local-shards.js';
import type { PagePool } from '../workers/page-pool.js';
import { streamName } from './log-message.js';
import { objectName, type SnapshotPointer, type SnapshotStore } from './snapshot-store.js';

export interface SnapshotterOptions {
  readonly shards: number;
  readonly nodeId: string;
  readonly dataDir: string;
  /** `--snapshot-interval-ms`: how often an owner snapshots each shard it owns that moved since. */
  readonly intervalMs: number;
  /** The revision of this node's lease on the shard while it holds it by its own clock, else null. */
  readonly leaseRevision: (shard: number) => number | null;
  readonly position: (shard: number) => LogPosition;
  /** Removes the stream's messages before `seq`. */
  readonly purge: (stream: string, seq: number) => Promise<void>;
  readonly onNotice: (message: string) => void;
}

export interface SnapshotTaken {
  readonly pointer: SnapshotPointer;
  readonly milliseconds: number;
  /** The position the stream was purged below, or null (the first snapshot purges nothing). */
  readonly purgedBelow: number | null;
}

export class Snapshotter {
  readonly #store: SnapshotStore;
  readonly #pages: PagePool;
  readonly #options: SnapshotterOptions;
  readonly #timer: NodeJS.Timeout;
  #round: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(store: SnapshotStore, pages: PagePool, options: SnapshotterOptions) {
    this.#store = store;
    this.#pages = pages;
    this.#options = options;
    this.#timer = setInterval(() => this.#next(), options.intervalMs);
    this.#timer.unref();
  }

  /** Snapshots one shard now if this node owns it and it moved since the latest snapshot; null when it did nothing. */
  async take(shard: number): Promise<SnapshotTaken | null> {
    const { leaseRevision, position, dataDir, nodeId } = this.#options;
    if (leaseRevision(shard) === null) return null;
    const current = await this.#store.pointer(shard);
    // Nothing applied yet, or nothing since the latest snapshot: nothing to keep.
    if (position(shard).seq <= (current?.pointer.seq ?? 0)) return null;
    const started = performance.now();
    const file = join(dataDir, `snapshot-${shard}.tmp`);
    rmSync(file, { force: true });
    try {
      const snapshot = await this.#pages.snapshot(shard, file);
      if (current && snapshot.log.seq <= current.pointer.seq) return null;
      const object = objectName(shard, snapshot.log.seq);
      await this.#store.upload(object, file);
      const epoch = leaseRevision(shard);
      if (epoch === null) return null;
      const pointer: SnapshotPointer = { object, seq: snapshot.log.seq, clock: snapshot.log.clock, bytes: snapshot.bytes, epoch, node: nodeId, takenAt: new Date().toISOString(), previous: current?.pointer.object ?? null };
      // Lost the race to another owner: its pointer stands, and its next clean-up removes this object.
      if (!(await this.#store.movePointer(shard, pointer, current))) return null;
      let purgedBelow: number | null = null;
      if (current && leaseRevision(shard) !== null) {
        purgedBelow = current.pointer.seq + 1;
        await this.#options.purge(streamName(shard), purgedBelow);
      }
      // The previous snapshot stays until the next one: a node downloading it when the pointer
      // moved can still finish (the log reaches back to it), rather than lose its download.
      const keep = current ? [object, current.pointer.object] : [object];
      if (current?.pointer.previous) await this.#store.delete(current.pointer.previous);
      await this.#store.deleteOthers(shard, keep);
      return { pointer, milliseconds: performance.now() - started, purgedBelow };
    } finally {
      rmSync(file, { force: true });
    }
  }

  /** Takes no more snapshots; one under way is not waited for (a large upload takes minutes): it fails as the connection closes, and the pointer stays where it was. */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
  }

  #next(): void {
    // One round at a time: a slow store must not pile rounds up.
    this.#round = this.#round.then(async () => {
      for (let shard = 0; shard < this.#options.shards && !this.#stopped; shard++) {
        try {
          const taken = await this.take(shard);
          if (taken) {
            const purged = taken.purgedBelow === null ? 'nothing purged' : `stream purged below ${taken.purgedBelow}`;
            this.#options.onNotice(`shard ${shard}: snapshot through log position ${taken.pointer.seq} (${taken.pointer.bytes} bytes) in ${Math.round(taken.milliseconds)} ms; ${purged}`);
          }
        } catch (error) {
          if (!this.#stopped) this.#options.onNotice(`shard ${shard}: snapshot failed: ${(error as Error).message}`);
        }
      }
    });
  }
}

/**
 * Replaces shard `shard`'s replica with the latest snapshot, which must hold at least position
 * `through`. A snapshot deleted while it downloads (a newer one replaced it) is retried with the
 * newer pointer. Resolves with the log position the shard holds now.
 */
export async function restoreLatest(store: SnapshotStore, local: LocalShards, dataDir: string, shard: number, through: number): Promise<LogPosition> {
  const file = join(dataDir, `restore-${shard}.tmp`);
  for (let attempt = 1; ; attempt++) {
    const entry = await store.pointer(shard);
    if (!entry) throw new AggregatorError('snapshot_missing', `no snapshot of shard ${shard} exists`);
    if (entry.pointer.seq < through) throw new AggregatorError('snapshot_unusable', `the latest snapshot of shard ${shard} holds through ${entry.pointer.seq}, short of ${through}`);
    rmSync(file, { force: true });
    try {
      await store.download(entry.pointer, file);
      return await local.replace(shard, file);
    } catch (error) {
      if (attempt >= 3) throw error;
    } finally {
      rmSync(file, { force: true });
    }
  }
}
