import { mulberry32 } from '../../src/publisher/generate.js';

/**
 * Events shaped like the ones bench/wrk/publish.lua sends: four topics, ids unique per run, and a
 * share of repeats of ids already sent. Seeded, so every run inserts the same rows.
 */
const topics = ['auth.prod', 'payment.prod', 'search.dev', 'billing.prod'] as const;

export interface BenchEvent {
  readonly topic: string;
  readonly eventId: string;
  readonly timestamp: string;
  readonly source: string;
  readonly payload: string;
}

export class EventSource {
  #counter = 0;
  /** The publisher's PRNG, so the bench and the publisher draw from one generator. */
  readonly #random: () => number;
  readonly #duplicateRatio: number;

  constructor(duplicateRatio: number, seed = 17) {
    this.#duplicateRatio = duplicateRatio;
    this.#random = mulberry32(seed);
  }

  next(): BenchEvent {
    let id: number;
    if (this.#counter > 0 && this.#random() < this.#duplicateRatio) id = Math.floor(this.#random() * this.#counter);
    else id = this.#counter++;
    return {
      topic: topics[id % topics.length]!,
      eventId: `t0-${id}`,
      timestamp: '2025-10-22T10:30:00Z',
      source: 'bench',
      payload: `{"n":${id},"ok":true}`,
    };
  }
}

/**
 * A JSON request body of `count` events like the ones publish.lua sends, with ids
 * `<prefix><first>` … `<prefix><first + count - 1>` (no repeats).
 */
export function batchBody(first: number, count: number, prefix: string): string {
  const parts = new Array<string>(count);
  for (let index = 0; index < count; index++) {
    const id = first + index;
    parts[index] = `{"topic":"${topics[id % topics.length]}","event_id":"${prefix}${id}","timestamp":"2025-10-22T10:30:00Z","source":"bench","payload":{"n":${id},"ok":true}}`;
  }
  return `[${parts.join(',')}]`;
}
