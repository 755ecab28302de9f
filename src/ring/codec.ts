import { Packr, Unpackr } from 'msgpackr';

/**
 * The one msgpack configuration both sides of a ring use. Records/structures stay off: they need
 * encoder state shared with the decoder, and the two live on different threads.
 */
const options = { useRecords: false, moreTypes: false, bundleStrings: false, int64AsType: 'number' } as const;

/**
 * What a frame carries per event, in this order. The first field is the event's position in its
 * request, not its seq: the frame is encoded before the request is accepted, and the engine that
 * accepts it assigns the seqs (the frame header's `firstSeq` + position).
 */
export interface EventRecord {
  readonly topic: string;
  readonly event_id: string;
  readonly timestamp: string;
  readonly source: string;
  readonly payload: Record<string, unknown>;
}

export type EncodedRecord = [position: number, topic: string, eventId: string, timestamp: string, source: string, payload: unknown];

const packr = new Packr(options);
const unpackr = new Unpackr(options);

/**
 * Encodes one event as a msgpack array. The returned bytes live in msgpackr's reused buffer and
 * are only valid until the buffer fills, so the caller copies them into the ring promptly.
 * With `payloadAsText` the payload travels as its JSON text (a string) instead of a msgpack map:
 * for the rare payload msgpack cannot carry unchanged (an own `__proto__` key, which msgpackr
 * renames when decoding, or an unpaired surrogate, which UTF-8 cannot hold). The consumer stores a
 * string payload as it is; a map it serialises.
 */
export function encodeRecord(position: number, event: EventRecord, payloadAsText = false): Uint8Array {
  const payload = payloadAsText ? JSON.stringify(event.payload) : event.payload;
  return packr.pack([position, event.topic, event.event_id, event.timestamp, event.source, payload]);
}

/** The payload of a decoded record as the JSON text the store keeps. */
export function payloadJson(record: EncodedRecord): string {
  const payload = record[5];
  return typeof payload === 'string' ? payload : JSON.stringify(payload);
}

/** Decodes a frame body: the records back to back. */
export function decodeRecords(body: Uint8Array): EncodedRecord[] {
  // A frame may carry no events (it only persists a rejected count).
  if (body.length === 0) return [];
  return unpackr.unpackMultiple(body) as EncodedRecord[];
}

/**
 * One small structured message (a shard's completion record): the same pinned options, so a
 * Uint8Array comes back as bytes and numbers as numbers.
 */
export function packMessage(message: unknown): Uint8Array {
  return packr.pack(message);
}

export function unpackMessage(bytes: Uint8Array): unknown {
  return unpackr.unpack(bytes);
}

/** A log frame's body (cluster mode): its log position, then its records, or its one command. */
export function unpackLogFrame(body: Uint8Array): unknown[] {
  return unpackr.unpackMultiple(body) as unknown[];
}
