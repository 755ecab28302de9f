import type { Watermark } from './storage.js';

export interface SeqRange {
  readonly first: number;
  /** One past the last seq of the range. */
  readonly end: number;
  done: boolean;
}

/**
 * Assigns every accepted event a global, increasing `seq`, and tracks the commit watermark:
 * the highest seq below which every accepted event has finished (committed or failed).
 * Shards commit independently, so seq 9 may be committed on one shard while seq 7 is still in
 * flight on another; readers only see events up to the watermark, so a cursor never skips 7.
 */
export class Sequencer implements Watermark {
  #next: number;
  /** Ranges not yet finished, in allocation (and so seq) order. */
  readonly #open: SeqRange[] = [];
  readonly #listeners: (() => void)[] = [];
  readonly cursorVersion = 1;
  /** Called with the last seq of each range before it is handed out (a durable reservation). */
  readonly #reserve: (seq: number) => void;

  /** `next`: the first seq to hand out; `reserve` throws when the range may not be handed out. */
  constructor(next: number, reserve: (seq: number) => void = () => {}) {
    this.#next = next;
    this.#reserve = reserve;
  }

  get current(): number {
    const oldest = this.#open[0];
    return oldest ? oldest.first - 1 : this.#next - 1;
  }

  allocate(count: number): SeqRange {
    this.#reserve(this.#next + count - 1);
    const range: SeqRange = { first: this.#next, end: this.#next + count, done: false };
    this.#next = range.end;
    this.#open.push(range);
    return range;
  }

  finish(range: SeqRange): void {
    range.done = true;
    if (this.#open[0] !== range) return; // an older range is still in flight: the watermark stays
    while (this.#open.length > 0 && this.#open[0]!.done) this.#open.shift();
    for (const listener of this.#listeners) listener();
  }

  /** Runs after every advance of the watermark. */
  onAdvance(listener: () => void): void {
    this.#listeners.push(listener);
  }
}
