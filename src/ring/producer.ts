import { frameBytes, kConsumerThread, kFrameHeaderBytes, kHeaderBytes, kPaddingMarker, kReadPosition, kWritePosition, ringCapacity } from './layout.js';

export interface FrameHeader {
  readonly eventCount: number;
  readonly flags: number;
  readonly rejected: number;
  readonly receivedAt: number;
  readonly firstSeq: number;
}

/**
 * The producer side of a shard ring, used by the ingress thread only.
 * `fits` and `write` are separate so that ingress can check every shard a request touches
 * before writing to any of them: a request is queued whole or not at all.
 */
export class RingProducer {
  readonly buffer: SharedArrayBuffer;
  readonly capacity: number;
  readonly #indices: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #mask: number;

  /** A new ring of `capacity` bytes (a power of two), or the producer side of an existing one. */
  constructor(capacityOrBuffer: number | SharedArrayBuffer) {
    this.buffer = typeof capacityOrBuffer === 'number' ? new SharedArrayBuffer(kHeaderBytes + capacityOrBuffer) : capacityOrBuffer;
    const capacity = ringCapacity(this.buffer);
    this.capacity = capacity;
    this.#indices = new Int32Array(this.buffer, 0, kHeaderBytes / 4);
    this.#bytes = new Uint8Array(this.buffer, kHeaderBytes, capacity);
    this.#view = new DataView(this.buffer, kHeaderBytes, capacity);
    this.#mask = capacity - 1;
  }

  get usedBytes(): number {
    return (Atomics.load(this.#indices, kWritePosition) - Atomics.load(this.#indices, kReadPosition)) >>> 0;
  }

  /** Bytes a frame with this body needs, counting the padding it may have to skip at the tail. */
  fits(bodyLength: number): boolean {
    const size = frameBytes(bodyLength);
    const write = Atomics.load(this.#indices, kWritePosition) >>> 0;
    const tail = this.capacity - (write & this.#mask);
    const needed = tail < size ? tail + size : size;
    return this.capacity - this.usedBytes >= needed;
  }

  /** Appends one frame. The caller checked `fits`; the consumer only ever frees space meanwhile. */
  write(header: FrameHeader, chunks: readonly Uint8Array[], bodyLength: number): void {
    const size = frameBytes(bodyLength);
    let write = Atomics.load(this.#indices, kWritePosition) >>> 0;
    let offset = write & this.#mask;
    if (this.capacity - offset < size) {
      this.#view.setUint32(offset, kPaddingMarker, true);
      write = (write + (this.capacity - offset)) >>> 0;
      offset = 0;
    }
    const view = this.#view;
    view.setUint32(offset, bodyLength, true);
    view.setUint32(offset + 4, header.eventCount, true);
    view.setUint32(offset + 8, header.flags, true);
    view.setUint32(offset + 12, header.rejected, true);
    view.setFloat64(offset + 16, header.receivedAt, true);
    view.setFloat64(offset + 24, header.firstSeq, true);
    let cursor = offset + kFrameHeaderBytes;
    for (const chunk of chunks) {
      this.#bytes.set(chunk, cursor);
      cursor += chunk.length;
    }
    // The store publishes the frame: Atomics are sequentially consistent, so the consumer that
    // loads this position also sees every byte copied above.
    Atomics.store(this.#indices, kWritePosition, (write + size) | 0);
  }

  /** Wakes a consumer waiting with Atomics.wait / waitAsync on the write position. */
  notifyWritten(): void {
    Atomics.notify(this.#indices, kWritePosition);
  }

  /**
   * Blocks the calling thread until a frame of this body fits (the consumer frees space and
   * notifies). Only for a producer on a worker thread: the ingress thread never blocks.
   */
  waitForRoom(bodyLength: number): void {
    while (!this.fits(bodyLength)) {
      const read = Atomics.load(this.#indices, kReadPosition);
      if (!this.fits(bodyLength)) Atomics.wait(this.#indices, kReadPosition, read);
    }
  }

  /**
   * Drops every queued frame; the consumer keeps its claim. Only safe while the consumer is paused
   * and touches nothing (after a failed commit).
   */
  discardQueued(): void {
    Atomics.store(this.#indices, kReadPosition, Atomics.load(this.#indices, kWritePosition));
  }

  /**
   * Drops every queued frame and the consumer claim. Only safe while no drain task is in flight
   * for this ring (after a failed drain), when the main thread is the only party touching it.
   */
  discardAll(): void {
    Atomics.store(this.#indices, kReadPosition, Atomics.load(this.#indices, kWritePosition));
    Atomics.store(this.#indices, kConsumerThread, 0);
  }
}
