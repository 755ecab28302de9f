/**
 * Watches one replica from outside its reader loop (shard-host.ts), once a second, against the
 * stream's extent. Purges leave no trace a get by sequence would report, so this is what sees a
 * log that now starts past the replica's next position (it was away across a purge): the replica
 * is told, and rebuilds from a snapshot. And a replica that makes no progress while the stream has
 * more is given a fresh reader loop and doorbell, in case one was lost for good.
 */
import type { LogPosition } from '../store/log-position.js';

export interface ReplicaStatus {
  /** The last position committed, and whether nothing queued is still waiting to commit. */
  readonly position: LogPosition;
  readonly idle: boolean;
  /** performance.now() of the last commit (or rebuild). */
  readonly progressAt: number;
  /** Whether a gap was reported and not yet mended: nothing to watch meanwhile. */
  readonly rebuilding: boolean;
}

export interface WatchedReplica {
  readonly shard: number;
  status(): ReplicaStatus;
  gap(first: number): void;
  restartReader(): void;
}

export interface Extent {
  readonly first: number;
  readonly last: number;
  /** The NATS server leading the stream; null while it has none. */
  readonly leader: string | null;
}

/** How often the watchdog looks at the stream's extent. */
export const kWatchMs = 1000;
/** No progress for this long while the stream has more: the reader loop is started afresh. */
const kStallMs = 15_000;

export interface WatchdogOptions {
  /** Default 15 s: longer than a NATS failover, during which no replica progresses. */
  readonly stallMs?: number;
}

export class ReplicaWatchdog {
  readonly #extent: () => Promise<Extent>;
  readonly #replica: WatchedReplica;
  readonly #onNotice: (message: string) => void;
  #timer: NodeJS.Timeout | null = null;
  #looking = false;
  #restartedAt = Number.NEGATIVE_INFINITY;
  readonly #stallMs: number;
  /** The stream's first position as last seen (0 before the first look). */
  logFirst = 0;
  /** Whether the last look found the stream without a leader (or could not ask: no quorum answers). */
  leaderless = false;

  constructor(extent: () => Promise<Extent>, replica: WatchedReplica, onNotice: (message: string) => void, options: WatchdogOptions = {}) {
    this.#stallMs = options.stallMs ?? kStallMs;
    this.#extent = extent;
    this.#replica = replica;
    this.#onNotice = onNotice;
  }

  start(): void {
    this.#timer = setInterval(() => void this.look(), kWatchMs);
    this.#timer.unref();
    void this.look();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  /** One look (the timer's; a test may call it). */
  async look(): Promise<void> {
    const replica = this.#replica;
    if (this.#looking || replica.status().rebuilding) return;
    this.#looking = true;
    try {
      const { first, last, leader } = await this.#extent();
      this.logFirst = first;
      this.leaderless = leader === null;
      // As it is now, not as it was before the look: the replica went on meanwhile.
      const { position, idle, progressAt, rebuilding } = replica.status();
      const next = position.seq + 1;
      const stalledSince = Math.max(progressAt, this.#restartedAt);
      if (rebuilding) return;
      if (first > next) replica.gap(first);
      else if (last >= next && idle && performance.now() - stalledSince > this.#stallMs) {
        this.#onNotice(`replica of shard ${replica.shard}: no progress for ${this.#stallMs} ms at log position ${position.seq} of ${last}; restarting its reader`);
        this.#restartedAt = performance.now();
        replica.restartReader();
      }
    } catch {
      // NATS unreachable, or the stream has no leader to answer: the reader's own gets fail too.
      this.leaderless = true;
    } finally {
      this.#looking = false;
    }
  }
}
