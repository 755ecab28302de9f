import { AggregatorError, InvalidEventError, OverloadedError, TooLargeError, type EventProblem } from '../errors.js';
import { decodeBody, type BodyFormat } from '../events/decode.js';
import type { PublishResult } from '../events/responses.js';
import type { Event } from '../events/schema.js';
import { shardOf } from '../events/shard-key.js';
import { findProblems, kMaxProblems } from '../events/validate.js';
import { encodeRecord } from '../ring/codec.js';
import { ProtocolTally, type Protocol } from './protocol-tally.js';
import type { CommitPath, RequestVerdict, RoomCheck, ShardFrame } from './storage.js';

/** One item's fate in `ingestItems`: stored, a duplicate of a stored identity, or what is wrong with it. */
export type ItemOutcome = 'stored' | 'duplicate' | EventProblem;

export interface IngestLimits {
  readonly maxBatch: number;
  readonly maxEventBytes: number;
  readonly maxPayloadDepth: number;
}

/** A frame being built: the same as the one handed to the commit path, still growing. */
interface FrameBuilder extends ShardFrame {
  readonly chunks: Uint8Array[];
  readonly indexes: number[];
  bodyLength: number;
}

// msgpack is never more than 6x smaller than JSON (a control character: 1 byte vs `\u0001`), so
// an event whose msgpack form is under a sixth of the limit needs no exact JSON measurement.
const kJsonExpansion = 6;

/**
 * The ingest step without the socket: body bytes in, a promise of the answer out. The steps follow
 * the contract's order of statuses: 413 (batch size) → 422 (schema, payload, size) → 503 (room)
 * → 200. Everything up to `commit` is synchronous, so the room it checked is still there when the
 * frames are queued.
 */
export class IngestPipeline {
  readonly #limits: IngestLimits;
  readonly #commitPath: CommitPath;
  /** Which protocol brought how many events: for /stats and /metrics. */
  readonly tally = new ProtocolTally();

  constructor(limits: IngestLimits, commitPath: CommitPath) {
    this.#limits = limits;
    this.#commitPath = commitPath;
  }

  ingest(body: Buffer, format: BodyFormat, wantsResults: boolean): Promise<PublishResult> {
    // Under overload most requests end in 503 at the ring check; when the rings together could not
    // hold even half the body (msgpack frames are rarely under half the JSON), say so before
    // spending parse, validation and encoding on it: the ingress thread is the bottleneck. Only for
    // bodies an empty ring could take: one that can never fit must reach the exact check and its 413.
    const half = body.length / 2;
    if (half <= this.#commitPath.frameCapacity && this.#commitPath.freeBytes() < half) throw new OverloadedError('the shard rings are full; retry later');
    return this.ingestEvents(decodeBody(body, format), wantsResults, 'publish');
  }

  /** All or nothing, as /publish: any invalid event refuses the whole request (422) and stores nothing. */
  ingestEvents(events: readonly unknown[], wantsResults: boolean, protocol: Protocol): Promise<PublishResult> {
    if (events.length > this.#limits.maxBatch) {
      throw new TooLargeError(`${events.length} events in one request; the limit is ${this.#limits.maxBatch}`);
    }
    if (events.length === 0) this.#reject([], 0, protocol);
    const textPayloads: number[] = [];
    const problems = findProblems(events, this.#limits, textPayloads);
    if (problems.length > 0) this.#reject(problems, events.length, protocol);
    const valid = events as Event[];
    const { frames, problems: sizeProblems } = this.#encode(valid, textPayloads);
    if (sizeProblems.length > 0) this.#reject(sizeProblems, valid.length, protocol);
    this.#checkRoom(frames);
    return this.#commitPath.commit(frames, { eventCount: valid.length, wantsStatuses: wantsResults }).then((verdict) => {
      this.tally.committed(protocol, valid.length, verdict.unique, 0);
      return summarize(valid, verdict);
    });
  }

  /**
   * The ingest step for shipper protocols, where each item succeeds or fails on its own: an
   * invalid event is that item's problem, the valid ones are stored (and acknowledged only once
   * committed, as with `ingest`). Overload and a batch over the limit still fail the whole request.
   */
  async ingestItems(candidates: readonly unknown[], protocol: Protocol): Promise<ItemOutcome[]> {
    if (candidates.length > this.#limits.maxBatch) {
      throw new TooLargeError(`${candidates.length} events in one request; the limit is ${this.#limits.maxBatch}`);
    }
    const outcomes = new Array<ItemOutcome>(candidates.length);
    // The valid items: their request positions, the events, and whether each payload travels as text.
    // Every problem of every item (not the first hundred): each item's first one is its answer.
    const textPayloads: number[] = [];
    for (const problem of findProblems(candidates, this.#limits, textPayloads, Number.POSITIVE_INFINITY)) outcomes[problem.index] ??= problem;
    const asText = new Set(textPayloads);
    let kept: { position: number; event: Event; asText: boolean }[] = [];
    for (let position = 0; position < candidates.length; position++) {
      if (outcomes[position] === undefined) kept.push({ position, event: candidates[position] as Event, asText: asText.has(position) });
    }
    let { frames, problems } = this.#encodeKept(kept);
    if (problems.length > 0) {
      // Events over the size limit: theirs is the failure; encode the rest again (rare).
      const tooLarge = new Set(problems.map((problem) => problem.index));
      for (const problem of problems) outcomes[kept[problem.index]!.position] = { ...problem, index: kept[problem.index]!.position };
      kept = kept.filter((_, index) => !tooLarge.has(index));
      ({ frames } = this.#encodeKept(kept));
    }
    const positions = kept.map((item) => item.position);
    const valid = kept.map((item) => item.event);
    const refused = candidates.length - valid.length;
    if (valid.length === 0) {
      this.#recordRejected(refused, protocol);
      return outcomes;
    }
    this.#checkRoom(frames);
    // Counted once the request is sure to commit: a 503 retried must not count its refusals twice.
    if (refused > 0) this.#commitPath.recordRejected(refused);
    const { statuses, unique } = await this.#commitPath.commit(frames, { eventCount: valid.length, wantsStatuses: true });
    this.tally.committed(protocol, valid.length, unique, refused);
    for (let index = 0; index < positions.length; index++) outcomes[positions[index]!] = statuses![index] === 1 ? 'stored' : 'duplicate';
    return outcomes;
  }

  #encodeKept(kept: readonly { event: Event; asText: boolean }[]): { frames: FrameBuilder[]; problems: EventProblem[] } {
    const textPayloads: number[] = [];
    kept.forEach((item, index) => {
      if (item.asText) textPayloads.push(index);
    });
    return this.#encode(
      kept.map((item) => item.event),
      textPayloads,
    );
  }

  #reject(problems: EventProblem[], eventCount: number, protocol: Protocol): never {
    this.#recordRejected(eventCount, protocol);
    throw new InvalidEventError(problems, eventCount);
  }

  #recordRejected(eventCount: number, protocol: Protocol): void {
    if (eventCount > 0) this.#commitPath.recordRejected(eventCount);
    this.tally.refused(protocol, eventCount);
  }

  /** `textPayloads`: ascending indexes of events whose payload must travel as JSON text (see encodeRecord). */
  #encode(events: readonly Event[], textPayloads: readonly number[]): { frames: FrameBuilder[]; problems: EventProblem[] } {
    const shardCount = this.#commitPath.shardCount;
    let nextText = 0;
    const byShard = new Array<FrameBuilder | undefined>(shardCount);
    const problems: EventProblem[] = [];
    for (let index = 0; index < events.length; index++) {
      const event = events[index]!;
      const asText = textPayloads[nextText] === index;
      if (asText) nextText++;
      const record = encodeRecord(index, event, asText);
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
    return { frames: byShard.filter((frame): frame is FrameBuilder => frame !== undefined), problems };
  }

  /** A request is queued whole or not at all: every shard it touches must have room first. */
  #checkRoom(frames: readonly ShardFrame[]): void {
    for (const frame of frames) {
      const verdict = this.#commitPath.check(frame.shard, frame.bodyLength);
      if (verdict !== 'ok') throw roomRefusal(verdict, frame.shard, () => this.#commitPath.problems());
    }
  }
}

/** The answer to a shard without room for a frame: 413 when it never could, 503 otherwise, with why. */
export function roomRefusal(verdict: Exclude<RoomCheck, 'ok'>, shard: number, problems: () => readonly string[]): AggregatorError {
  if (verdict === 'too_large') return new TooLargeError(`the request's events for shard ${shard} are larger than its ring; send smaller batches`);
  if (verdict === 'disk_full') return new AggregatorError('disk_full', problems().join('; '));
  return new OverloadedError(verdict === 'full' ? `shard ${shard} is full; retry later` : `shard ${shard} cannot take writes right now: ${problems().join('; ')}`);
}

function summarize(events: readonly Event[], { unique, statuses }: RequestVerdict): PublishResult {
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
