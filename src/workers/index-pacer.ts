/**
 * When a shard writer may run its next search index slice. The index trails the commits: a slice
 * runs only when the ring is empty, and while commits keep coming (one within `busyMs`) slices are
 * spaced so indexing takes at most `busyShare` of the writer's time: on a machine with few cores
 * the indexer would otherwise take CPU the ingress thread needs, and ingest would slow to the
 * indexer's pace. Once commits stop, slices run back to back until the index has caught up.
 */
export interface PacerOptions {
  readonly busyMs: number;
  readonly busyShare: number;
  /** After a slice failed: indexing waits this long (searches scan meanwhile). */
  readonly retryMs: number;
}

export const kDefaultPacing: PacerOptions = { busyMs: 250, busyShare: 0.25, retryMs: 5000 };

export class IndexPacer {
  readonly #options: PacerOptions;
  readonly #now: () => number;
  #lastCommit = Number.NEGATIVE_INFINITY;
  #next = 0;

  constructor(options: PacerOptions = kDefaultPacing, now: () => number = () => performance.now()) {
    this.#options = options;
    this.#now = now;
  }

  committed(): void {
    this.#lastCommit = this.#now();
  }

  /** Milliseconds until the next slice may run (0: now). */
  wait(): number {
    return Math.max(0, this.#next - this.#now());
  }

  /** A slice ran from `started` until now; `ok` false: it failed. */
  ran(started: number, ok: boolean): void {
    const now = this.#now();
    if (!ok) this.#next = now + this.#options.retryMs;
    else if (now - this.#lastCommit < this.#options.busyMs) this.#next = now + ((now - started) * (1 - this.#options.busyShare)) / this.#options.busyShare;
    else this.#next = now;
  }
}
