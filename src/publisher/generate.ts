import type { PublishMode } from './options.js';

/** An event exactly as docs/API.md defines it. */
export interface PublisherEvent {
  readonly topic: string;
  readonly event_id: string;
  readonly timestamp: string;
  readonly source: string;
  readonly payload: Readonly<Record<string, string | number | boolean>>;
}

export interface StreamSpec {
  readonly count: number;
  readonly duplicateRatio: number;
  readonly topics: readonly string[];
  readonly seed: number;
  readonly runId: string;
}

export interface GeneratedStream {
  readonly count: number;
  /** Distinct (topic, event_id) pairs in the stream. */
  readonly distinct: number;
  /** `count - distinct`: what the server must report as duplicates if the pairs were new. */
  readonly duplicates: number;
  /** The events at positions [start, end); a duplicate is equal, field for field, to its original. */
  slice(start: number, end: number): PublisherEvent[];
}

export interface RequestSlice {
  readonly start: number;
  readonly end: number;
  readonly single: boolean;
}

/** mulberry32: 32 bits of state, good enough spread for test data, identical on every platform. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Splits draw from their own stream, so changing --mode or --batch-size never changes the events.
const kSplitSeedSalt = 0x9e3779b9;
// Timestamps count from a fixed instant, not the clock, so the same seed gives the same bytes.
const kEpochMs = Date.UTC(2025, 9, 22, 10, 30, 0);
const kActions = ['login', 'logout', 'purchase', 'refund', 'search', 'view'] as const;

/**
 * The seeded event stream. Each position is either a new pair (with probability 1 - ratio) or a
 * repeat of a pair generated earlier in this stream, picked uniformly: the shape of an
 * at-least-once publisher re-sending what it already sent.
 *
 * The stream stores only each position's serial (4 bytes): an event is a pure function of
 * (seed, run id, serial), rebuilt when its request is encoded, so millions of events cost megabytes.
 */
export function generateStream(spec: StreamSpec): GeneratedStream {
  const random = mulberry32(spec.seed);
  const serials = new Uint32Array(spec.count);
  let distinct = 0;
  for (let index = 0; index < spec.count; index++) {
    const repeat = distinct > 0 && random() < spec.duplicateRatio;
    // Originals are serials 0..distinct-1, so a uniform earlier pair is a uniform serial below distinct.
    serials[index] = repeat ? Math.floor(random() * distinct) : distinct++;
  }
  return {
    count: spec.count,
    distinct,
    duplicates: spec.count - distinct,
    slice: (start, end) => Array.from(serials.subarray(start, end), (serial) => eventOf(serial, spec)),
  };
}

function eventOf(serial: number, spec: StreamSpec): PublisherEvent {
  const random = mulberry32((spec.seed ^ Math.imul(serial + 1, 0x85ebca6b)) >>> 0);
  const topic = spec.topics[Math.floor(random() * spec.topics.length)]!;
  return {
    topic,
    event_id: `${spec.runId}-${serial}`,
    timestamp: new Date(kEpochMs + serial * 250 + Math.floor(random() * 250)).toISOString(),
    source: `${topic.split('.', 1)[0]}-service`,
    payload: {
      serial,
      user_id: 1 + Math.floor(random() * 100_000),
      action: kActions[Math.floor(random() * kActions.length)]!,
      amount: Math.round(random() * 100_000) / 100,
      ok: random() < 0.9,
    },
  };
}

/**
 * Cuts `count` events into requests. `single`: one bare event each. `batch`: arrays of
 * `batchSize` (the last one shorter). `mix`: a coin flip per request between the two.
 */
export function splitRequests(count: number, mode: PublishMode, batchSize: number, seed: number): RequestSlice[] {
  const random = mulberry32((seed ^ kSplitSeedSalt) >>> 0);
  const slices: RequestSlice[] = [];
  for (let start = 0; start < count; ) {
    const single = mode === 'single' || (mode === 'mix' && random() < 0.5);
    const end = single ? start + 1 : Math.min(count, start + batchSize);
    slices.push({ start, end, single });
    start = end;
  }
  return slices;
}

/** The (topic, event_id) identity as one string key. */
export function identity(event: Pick<PublisherEvent, 'topic' | 'event_id'>): string {
  return `${event.topic}\u0000${event.event_id}`;
}
