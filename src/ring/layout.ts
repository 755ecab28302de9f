/**
 * Shared memory layout of one shard ring. The main thread is the only producer and the shard's
 * worker thread the only consumer, so each index has exactly one writer.
 *
 *   SharedArrayBuffer
 *   +---------------- header (256 bytes, Int32 slots) ----------------+------ data (capacity) ------+
 *   | kWritePosition  ...  kReadPosition  ...  kConsumerThread        | frame | frame | pad | frame  |
 *   +-----------------------------------------------------------------+------------------------------+
 *
 * Positions are unsigned 32-bit counters that only grow (and wrap at 2^32); the byte offset of a
 * position is `position & (capacity - 1)`. Because the capacity is a power of two it divides 2^32,
 * so offsets stay consistent across the wrap, and `(write - read) >>> 0` is always the bytes in use:
 * empty when it is 0, full when it is `capacity`. No slot is sacrificed to tell the two apart.
 *
 * A frame never straddles the end of the data area: when it does not fit in the tail, the producer
 * writes a padding marker there and starts the frame at offset 0. Frames are 8-byte aligned, so the
 * tail is always either empty or at least 8 bytes, room for the marker.
 *
 * Frame layout (little endian):
 *   0  u32 bodyLength   bytes of msgpack event records after the header, or kPaddingMarker
 *   4  u32 eventCount
 *   8  u32 flags        kFlagWantsResults: report a stored/duplicate status per event;
 *                       kFlagCommand: the body is one msgpack command (a deletion), not event records
 *                       kFlagLog: a message of the shard's log (cluster mode): the body starts with its
 *                       log position (a msgpack integer); event j of the frame gets seq firstSeq + j·shards
 *  12  u32 rejected     events refused by validation since the previous frame (persisted with it)
 *  16  f64 receivedAt   ms since the epoch, the same for every event of the request
 *  24  f64 firstSeq     seq of the request's first event: a record at request position i is firstSeq + i
 *  32  body
 */

/** Int32 slot indices in the header. Write and read sit on different cache lines. */
export const kWritePosition = 0;
export const kReadPosition = 16;
/** threadId of the worker draining this ring, 0 when none: the single-consumer guard. */
export const kConsumerThread = 32;
/** Bumped by the producer to wake a sleeping consumer, and on every control change (see signals.ts). */
export const kDoorbell = 40;
/** 1 while the consumer is about to sleep or asleep on the doorbell. */
export const kSleeping = 48;
/** What the consumer loop should do next: one of the `ShardControl` values. */
export const kControl = 56;

export const kHeaderBytes = 256;
export const kFrameHeaderBytes = 32;
export const kPaddingMarker = 0xffffffff;
export const kFlagWantsResults = 1;
/** A command travels through the ring like the events: the writer applies it in ring order. */
export const kFlagCommand = 2;
/** Cluster mode: the frame is one message of the shard's log, applied at its position and no other. */
export const kFlagLog = 4;

function alignFrame(bytes: number): number {
  return (bytes + 7) & ~7;
}

export function frameBytes(bodyLength: number): number {
  return alignFrame(kFrameHeaderBytes + bodyLength);
}

export function ringCapacity(buffer: SharedArrayBuffer): number {
  return buffer.byteLength - kHeaderBytes;
}
