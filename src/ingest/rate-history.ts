import type { TopicTotals } from './storage.js';

/** How often the history samples the counters, ms. */
export const kRateIntervalMs = 1000;
/** How many intervals it keeps: 15 minutes at one a second. */
export const kRateCapacity = 900;

/** The history as /stats?history=1 serves it (see `RateHistory.snapshot`). */
export interface RateSnapshot {
  readonly intervalMs: number;
  readonly capacity: number;
  /** When the newest interval ended, on the history's clock (`performance.now()` ms unless told). */
  readonly endAt: number;
  /** The counters at `endAt`. */
  readonly endCounts: Readonly<TopicTotals>;
  /** Per interval, oldest first: what each counter grew by in it. */
  readonly received: number[];
  readonly unique: number[];
  readonly duplicates: number[];
}

/**
 * A fixed ring of per-interval counter increases, one column per counter. Memory is
 * 3 × capacity × 8 bytes, allocated once; a push never allocates.
 *
 *            oldest                       newest
 *              ▼                            ▼
 *   slots  [ d3 | d4 | d5 | .......... | d902 | d0 | d1 | d2 ]    (full: capacity = 900)
 *                                              ▲
 *                                            #next: the next push overwrites the oldest
 *
 * Not full: slots [0, length) hold the intervals in order and #next = length. Full: #next is
 * also the oldest, so reading walks from #next around to #next − 1.
 */
export class RateRing {
  readonly capacity: number;
  readonly #received: Float64Array;
  readonly #unique: Float64Array;
  readonly #duplicates: Float64Array;
  #next = 0;
  #length = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
    this.capacity = capacity;
    this.#received = new Float64Array(capacity);
    this.#unique = new Float64Array(capacity);
    this.#duplicates = new Float64Array(capacity);
  }

  get length(): number {
    return this.#length;
  }

  push(delta: Readonly<TopicTotals>): void {
    this.#received[this.#next] = delta.received;
    this.#unique[this.#next] = delta.unique;
    this.#duplicates[this.#next] = delta.duplicates;
    this.#next = (this.#next + 1) % this.capacity;
    if (this.#length < this.capacity) this.#length++;
  }

  /** The intervals, oldest first: O(length), the only place the ring allocates. */
  columns(): { received: number[]; unique: number[]; duplicates: number[] } {
    const start = this.#length < this.capacity ? 0 : this.#next;
    const read = (column: Float64Array) => Array.from({ length: this.#length }, (_, index) => column[(start + index) % this.capacity]!);
    return { received: read(this.#received), unique: read(this.#unique), duplicates: read(this.#duplicates) };
  }
}

export interface RateHistoryOptions {
  /** ms between samples (default `kRateIntervalMs`). */
  readonly intervalMs?: number;
  /** intervals kept (default `kRateCapacity`). */
  readonly capacity?: number;
  /** The clock, ms (default `performance.now`); tests drive it by hand. */
  readonly now?: () => number;
}

/**
 * The recent history of the counters the dashboard's rate chart plots (received, unique,
 * duplicates), kept on the ingress thread so a fresh page draws the last 15 minutes at once instead
 * of starting empty.
 *
 * Intervals are pinned to the clock: interval k ends at `origin + k × intervalMs`, whenever the
 * timer actually fires. A tick that comes late (the event loop was busy) counts everything since the
 * previous sample in the interval it lands in, and pushes zeros for any interval it skipped, so the
 * intervals never drift and their sum is exactly the counters' growth since the oldest one began.
 * The counters only grow; were one ever to go down, its interval counts 0 and the next starts from
 * the lower value.
 *
 * The timer is unref'd (it never keeps the process alive) and `close()` stops it.
 */
export class RateHistory {
  readonly #read: () => Readonly<TopicTotals>;
  readonly #now: () => number;
  readonly #intervalMs: number;
  readonly #ring: RateRing;
  readonly #origin: number;
  /** The last interval sampled (0: none yet, the origin itself). */
  #interval = 0;
  #last: TopicTotals;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #closed = false;

  constructor(read: () => Readonly<TopicTotals>, options: RateHistoryOptions = {}) {
    const intervalMs = options.intervalMs ?? kRateIntervalMs;
    if (!(intervalMs > 0)) throw new RangeError('options.intervalMs must be positive');
    this.#read = read;
    this.#now = options.now ?? (() => performance.now());
    this.#intervalMs = intervalMs;
    this.#ring = new RateRing(options.capacity ?? kRateCapacity);
    this.#origin = this.#now();
    this.#last = copy(read());
  }

  /** Starts sampling on a timer; idempotent, and a no-op once closed. */
  start(): void {
    if (this.#timer !== null || this.#closed) return;
    this.#schedule();
  }

  /** Stops the timer; idempotent. The history stays readable. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Takes the sample due now, if an interval ended since the last one (the timer calls this). */
  sample(): void {
    const interval = Math.floor((this.#now() - this.#origin) / this.#intervalMs);
    if (interval <= this.#interval) return;
    // Intervals the thread slept through saw nothing it could attribute: zeros, at most a ring's worth.
    const skipped = Math.min(interval - this.#interval - 1, this.#ring.capacity);
    for (let index = 0; index < skipped; index++) this.#ring.push(kNothing);
    const current = copy(this.#read());
    const last = this.#last;
    this.#ring.push({ received: growth(last.received, current.received), unique: growth(last.unique, current.unique), duplicates: growth(last.duplicates, current.duplicates) });
    this.#last = current;
    this.#interval = interval;
  }

  snapshot(): RateSnapshot {
    return { intervalMs: this.#intervalMs, capacity: this.#ring.capacity, endAt: this.#origin + this.#interval * this.#intervalMs, endCounts: { ...this.#last }, ...this.#ring.columns() };
  }

  #schedule(): void {
    // Aim at the next interval's end; a tick that fires a little early finds nothing due and re-aims.
    const due = this.#origin + (this.#interval + 1) * this.#intervalMs;
    this.#timer = setTimeout(() => {
      this.sample();
      if (!this.#closed) this.#schedule();
    }, Math.max(0, due - this.#now()));
    this.#timer.unref();
  }
}

const kNothing: Readonly<TopicTotals> = { received: 0, unique: 0, duplicates: 0 };

function copy(counts: Readonly<TopicTotals>): TopicTotals {
  return { received: counts.received, unique: counts.unique, duplicates: counts.duplicates };
}

function growth(before: number, after: number): number {
  return Math.max(0, after - before);
}
