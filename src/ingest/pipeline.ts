import { InvalidEventError, OverloadedError, TooLargeError, type AggregatorError, type EventProblem } from '../errors.js';
import { encodeRecord } from '../ring/codec.js';
import { kFlagWantsResults } from '../ring/layout.js';
import type { FrameOutcome, ShardPool } from '../workers/shard-pool.js';
import { decodeBody, type BodyFormat } from '../events/decode.js';
import type { Event } from '../events/schema.js';
import type { Sequencer } from './sequencer.js';
import { shardOf } from '../events/shard-key.js';
import { findProblems, kMaxProblems } from '../events/validate.js';

export interface PublishLimits {
  readonly maxBatch: number;
  readonly maxEventBytes: number;
  readonly maxPayloadDepth: number;
}

export interface PublishResult {
  readonly accepted: number;
  readonly unique: number;
  readonly duplicates: number;
  readonly results?: { topic: string; event_id: string; status: 'stored' | 'duplicate' }[];
}

/** The events of one request bound for one shard: encoded records, copied into the ring as one frame. */
interface ShardFrame {
  readonly shard: number;
  readonly chunks: Uint8Array[];
  /** Request positions of the frame's events, to put per-event statuses back in request order. */
  readonly indexes: number[];
  bodyLength: number;
}

// msgpack is never more than 6x smaller than JSON (a control character: 1 byte vs `\u0001`), so
// an event whose msgpack form is under a sixth of the limit needs no exact JSON measurement.
const kJsonExpansion = 6;

/**
 * POST /publish without the socket: bytes in, a promise of the answer out. The steps follow the
 * contract's order of statuses: 413 (batch size) → 422 (schema, payload, size) → 503 (rings) → 200.
 * Everything before `accept` is synchronous, so the seqs it encodes with are still unassigned to
 * anyone else when it assigns them.
 */
export class IngestPipeline {
  readonly #limits: PublishLimits;
  readonly #shards: ShardPool;
  readonly #sequencer: Sequencer;

  constructor(limits: PublishLimits, shards: ShardPool, sequencer: Sequencer) {
    this.#limits = limits;
    this.#shards = shards;
    this.#sequencer = sequencer;
  }

  ingest(body: Buffer, format: BodyFormat, wantsResults: boolean): Promise<PublishResult> {
    // Under overload most requests end in 503 at the ring check; when the rings together could not
    // hold even half the body (msgpack frames are rarely under half the JSON), say so before
    // spending parse, validation and encoding on it: the ingress thread is the bottleneck. Only for
    // bodies an empty ring could take: one that can never fit must reach the exact check and its 413.
    const half = body.length / 2;
    if (half <= this.#shards.ringCapacity && this.#shards.freeBytes() < half) throw new OverloadedError('the shard rings are full; retry later');
    const events = decodeBody(body, format);
    if (events.length > this.#limits.maxBatch) {
      throw new TooLargeError(`${events.length} events in one request; the limit is ${this.#limits.maxBatch}`);
    }
    if (events.length === 0) this.#reject([], 0);
    const textPayloads: number[] = [];
    const problems = findProblems(events, this.#limits, textPayloads);
    if (problems.length > 0) this.#reject(problems, events.length);
    const valid = events as Event[];
    const frames = this.#encode(valid, textPayloads);
    this.#checkRings(frames);
    return this.#accept(valid, frames, wantsResults);
  }

  #reject(problems: EventProblem[], eventCount: number): never {
    if (eventCount > 0) this.#shards.recordRejected(eventCount);
    throw new InvalidEventError(problems, eventCount);
  }

  /** `textPayloads`: ascending indexes of events whose payload must travel as JSON text (see encodeRecord). */
  #encode(events: readonly Event[], textPayloads: readonly number[]): ShardFrame[] {
    const shardCount = this.#shards.shardCount;
    let nextText = 0;
    const byShard = new Array<ShardFrame | undefined>(shardCount);
    const problems: EventProblem[] = [];
    const firstSeq = this.#sequencer.next;
    for (let index = 0; index < events.length; index++) {
      const event = events[index]!;
      const asText = textPayloads[nextText] === index;
      if (asText) nextText++;
      const record = encodeRecord(firstSeq + index, event, asText);
      if (record.length * kJsonExpansion > this.#limits.maxEventBytes) {
        const jsonBytes = Buffer.byteLength(JSON.stringify(event));
        if (jsonBytes > this.#limits.maxEventBytes && problems.length < kMaxProblems) {
          problems.push({ index, path: '', message: `event is ${jsonBytes} bytes as JSON; the limit is ${this.#limits.maxEventBytes}` });
        }
      }
      const shard = shardOf(event.topic, event.event_id, shardCount);
      let frame = byShard[shard];
      if (!frame) byShard[shard] = frame = { shard, chunks: [], indexes: [], bodyLength: 0 };
      frame.chunks.push(record);
      frame.indexes.push(index);
      frame.bodyLength += record.length;
    }
    if (problems.length > 0) this.#reject(problems, events.length);
    return byShard.filter((frame): frame is ShardFrame => frame !== undefined);
  }

  /** A request is queued whole or not at all: every ring it touches must have room first. */
  #checkRings(frames: readonly ShardFrame[]): void {
    for (const frame of frames) {
      const verdict = this.#shards.check(frame.shard, frame.bodyLength);
      if (verdict === 'ok') continue;
      if (verdict === 'too_large') {
        throw new TooLargeError(`the request's events for shard ${frame.shard} are larger than its ring; send smaller batches`);
      }
      throw new OverloadedError(
        verdict === 'full' ? `shard ${frame.shard} is full; retry later` : `shard ${frame.shard} cannot take writes right now: ${this.#shards.problems().join('; ')}`,
      );
    }
  }

  #accept(events: readonly Event[], frames: readonly ShardFrame[], wantsResults: boolean): Promise<PublishResult> {
    const range = this.#sequencer.allocate(events.length);
    const receivedAt = Date.now();
    const statuses = wantsResults ? new Uint8Array(events.length) : null;
    return new Promise<PublishResult>((resolve, reject) => {
      let remaining = frames.length;
      let unique = 0;
      let failure: AggregatorError | null = null;
      const settleFrame = (frame: ShardFrame, outcome: FrameOutcome | AggregatorError): void => {
        if (outcome instanceof Error) failure ??= outcome;
        else {
          unique += outcome.inserted;
          if (statuses && outcome.statuses) for (let index = 0; index < frame.indexes.length; index++) statuses[frame.indexes[index]!] = outcome.statuses[index]!;
        }
        if (--remaining > 0) return;
        this.#sequencer.finish(range);
        if (failure) reject(failure);
        else resolve(summarize(events, unique, statuses));
      };
      for (const frame of frames) {
        const header = { eventCount: frame.indexes.length, flags: wantsResults ? kFlagWantsResults : 0, receivedAt };
        this.#shards.queue(frame.shard, header, frame.chunks, frame.bodyLength, { settle: (outcome) => settleFrame(frame, outcome) });
      }
    });
  }
}

function summarize(events: readonly Event[], unique: number, statuses: Uint8Array | null): PublishResult {
  const summary = { accepted: events.length, unique, duplicates: events.length - unique };
  if (!statuses) return summary;
  return {
    ...summary,
    results: events.map((event, index) => ({
      topic: event.topic,
      event_id: event.event_id,
      status: statuses[index] === 1 ? ('stored' as const) : ('duplicate' as const),
    })),
  };
}
