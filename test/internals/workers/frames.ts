/**
 * Frames and tickets for the shard thread tests: a frame's body is msgpack records back to back
 * (src/ring/codec.ts), each record's first field its position in the frame, so the shard stores
 * event `i` of a frame at seq `firstSeq + i`.
 */
import type { AggregatorError } from '../../../src/errors.js';
import { encodeRecord } from '../../../src/ring/codec.js';
import type { FrameOutcome, FrameTicket } from '../../../src/workers/shard-slot.js';

export interface TestFrame {
  readonly chunks: Uint8Array[];
  readonly bodyLength: number;
  readonly eventCount: number;
}

/** One frame of events with these ids, all of `topic`; a `payload` of `pad` characters makes it larger. */
export function frame(ids: readonly string[], topic = 'topic.a', pad = 0): TestFrame {
  // encodeRecord's bytes live in a reused buffer: copy each.
  const chunks = ids.map((eventId, position) =>
    encodeRecord(position, { topic, event_id: eventId, timestamp: '2025-10-22T10:30:00Z', source: 'unit', payload: { id: eventId, pad: 'x'.repeat(pad) } }).slice(),
  );
  return { chunks, bodyLength: chunks.reduce((sum, chunk) => sum + chunk.length, 0), eventCount: ids.length };
}

/** What a ticket was settled with, and when (a counter shared by the test, to order callbacks). */
export interface Settled {
  readonly outcome: FrameOutcome | AggregatorError;
  readonly at: number;
}

export interface TestTicket {
  readonly ticket: FrameTicket;
  readonly settled: Promise<Settled>;
  /** How many times `settle` was called (exactly once is the contract). */
  calls(): number;
}

let clock = 0;
/** A monotonic step counter: compare `tick()` taken in a callback with a ticket's `at`. */
export function tick(): number {
  return ++clock;
}

export function ticket(): TestTicket {
  let calls = 0;
  let resolve!: (settled: Settled) => void;
  const settled = new Promise<Settled>((yes) => (resolve = yes));
  return {
    ticket: {
      settle(outcome) {
        calls++;
        resolve({ outcome, at: tick() });
      },
    },
    settled,
    calls: () => calls,
  };
}

/** The outcome of a ticket that must have succeeded, with its statuses as a plain array. */
export async function succeeded(test: TestTicket): Promise<{ inserted: number; statuses: number[] | null; at: number }> {
  const { outcome, at } = await test.settled;
  if (outcome instanceof Error) throw new Error(`the ticket failed: ${outcome.message}`);
  return { inserted: outcome.inserted, statuses: outcome.statuses ? [...outcome.statuses] : null, at };
}

/** The error of a ticket that must have failed. */
export async function failed(test: TestTicket): Promise<AggregatorError> {
  const { outcome } = await test.settled;
  if (!(outcome instanceof Error)) throw new Error(`the ticket succeeded: ${JSON.stringify(outcome)}`);
  return outcome;
}
