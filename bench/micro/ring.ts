import { decodeRecords, encodeRecord } from '../../src/ring/codec.js';
import { frameBytes } from '../../src/ring/layout.js';
import { RingConsumer } from '../../src/ring/consumer.js';
import { RingProducer } from '../../src/ring/producer.js';
import type { MicroTask } from '../lib/micro.js';
import { eventBatch, kBatchSize } from './batch.js';

/** 1 MiB: the frames wrap around every ~16 ops, so the padding path is exercised too. */
const kRingBytes = 1 << 20;
const kDrainBytes = 4 << 20;

/**
 * One frame through a ring on one thread: fits + write (the ingress side), take + release (the
 * shard side). The frame is the 1000-event batch's msgpack records, ~61 KiB.
 */
export function ringTasks(): MicroTask[] {
  const batch = eventBatch();
  const chunks = batch.map((event, index) => Buffer.from(encodeRecord(1_000_000 + index, event)));
  const bodyLength = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const writer = new RingProducer(kRingBytes);
  const reader = new RingConsumer(writer.buffer);
  const header = { eventCount: kBatchSize, flags: 0, rejected: 0, receivedAt: Date.now(), firstSeq: 1 };
  const roundTrip = (): number => {
    if (!writer.fits(bodyLength)) throw new Error('ring full: the previous frame was not released');
    writer.write(header, chunks, bodyLength);
    const taken = reader.take(kDrainBytes);
    reader.release(taken.end);
    return taken.frames.length;
  };
  writer.write(header, chunks, bodyLength);
  const check = reader.take(kDrainBytes);
  reader.release(check.end);
  if (check.frames.length !== 1 || decodeRecords(check.frames[0]!.body).length !== kBatchSize) throw new Error('ring round trip of the micro frame failed');
  return [
    {
      name: 'ring-write-read',
      op: `RingProducer.fits + write, RingConsumer.take + release of one ${bodyLength}-byte frame (${kRingBytes >> 10} KiB ring)`,
      eventsPerOp: kBatchSize,
      bytesPerOp: frameBytes(bodyLength),
      fn: roundTrip,
    },
  ];
}
