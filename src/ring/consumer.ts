import { AggregatorError } from '../errors.js';
import { frameBytes, kConsumerThread, kFrameHeaderBytes, kHeaderBytes, kPaddingMarker, kReadPosition, kWritePosition, ringCapacity } from './layout.js';

export interface Frame {
  readonly eventCount: number;
  readonly flags: number;
  readonly rejected: number;
  readonly receivedAt: number;
  readonly firstSeq: number;
  /** A private copy of the msgpack records: the ring bytes are reused once the batch is released. */
  readonly body: Buffer;
}

export interface FrameBatch {
  readonly frames: Frame[];
  /** Ring position just past the last frame of the batch; pass it to `release` after the commit. */
  readonly end: number;
}

/** The consumer side of a shard ring, used by the shard's worker thread only. */
export class RingConsumer {
  readonly #indices: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #capacity: number;
  readonly #mask: number;

  constructor(buffer: SharedArrayBuffer) {
    this.#capacity = ringCapacity(buffer);
    this.#indices = new Int32Array(buffer, 0, kHeaderBytes / 4);
    this.#bytes = new Uint8Array(buffer, kHeaderBytes, this.#capacity);
    this.#view = new DataView(buffer, kHeaderBytes, this.#capacity);
    this.#mask = this.#capacity - 1;
  }

  /**
   * Marks this thread as the ring's consumer for one drain. The dispatcher already keeps one drain
   * in flight per shard; this makes a second consumer an error instead of a silent double commit.
   */
  claim(threadId: number): void {
    const owner = Atomics.compareExchange(this.#indices, kConsumerThread, 0, threadId);
    if (owner !== 0) throw new AggregatorError('ring_claimed', `ring is already being drained by thread ${owner}`);
  }

  unclaim(threadId: number): void {
    Atomics.compareExchange(this.#indices, kConsumerThread, threadId, 0);
  }

  /** Copies out the frames queued now, stopping once `maxBytes` of frames are taken (at least one). */
  take(maxBytes: number): FrameBatch {
    const write = Atomics.load(this.#indices, kWritePosition) >>> 0;
    let read = Atomics.load(this.#indices, kReadPosition) >>> 0;
    const frames: Frame[] = [];
    let taken = 0;
    while (read !== write && (taken < maxBytes || frames.length === 0)) {
      const offset = read & this.#mask;
      const bodyLength = this.#view.getUint32(offset, true);
      if (bodyLength === kPaddingMarker) {
        read = (read + (this.#capacity - offset)) >>> 0;
        continue;
      }
      const bodyStart = offset + kFrameHeaderBytes;
      frames.push({
        eventCount: this.#view.getUint32(offset + 4, true),
        flags: this.#view.getUint32(offset + 8, true),
        rejected: this.#view.getUint32(offset + 12, true),
        receivedAt: this.#view.getFloat64(offset + 16, true),
        firstSeq: this.#view.getFloat64(offset + 24, true),
        body: Buffer.from(this.#bytes.subarray(bodyStart, bodyStart + bodyLength)),
      });
      const size = frameBytes(bodyLength);
      taken += size;
      read = (read + size) >>> 0;
    }
    return { frames, end: read };
  }

  /**
   * Null when frames are queued now; otherwise a promise that settles when the producer next
   * publishes one (it notifies the write position). For a consumer on the ingress thread, which
   * must not block: `Atomics.waitAsync` parks no thread.
   */
  waitForFrames(): Promise<unknown> | null {
    const write = Atomics.load(this.#indices, kWritePosition);
    if (write !== Atomics.load(this.#indices, kReadPosition)) return null;
    const wait = Atomics.waitAsync(this.#indices, kWritePosition, write);
    return wait.async ? wait.value : null;
  }

  /** Frees the ring space of a committed batch. */
  release(end: number): void {
    Atomics.store(this.#indices, kReadPosition, end | 0);
    // A producer on a worker thread may be waiting for room (RingProducer.waitForRoom).
    Atomics.notify(this.#indices, kReadPosition);
  }
}
