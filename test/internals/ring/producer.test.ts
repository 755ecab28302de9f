import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { encodeRecord } from '../../../src/ring/codec.js';
import { frameBytes, kFlagWantsResults } from '../../../src/ring/layout.js';
import { RingConsumer } from '../../../src/ring/consumer.js';
import { RingProducer } from '../../../src/ring/producer.js';
import { startTsWorker } from '../../helper.js';

const header = { eventCount: 1, flags: 0, rejected: 0, receivedAt: 1_700_000_000_000, firstSeq: 1 };

function bytes(length: number, fill: number): Uint8Array {
  return new Uint8Array(length).fill(fill);
}

describe('RingProducer and RingConsumer', () => {
  test('frames come out in order, intact, across many wrap-arounds', () => {
    const writer = new RingProducer(1024);
    const reader = new RingConsumer(writer.buffer);
    let written = 0;
    let read = 0;
    for (let round = 0; round < 500; round++) {
      const length = 1 + ((round * 37) % 200);
      while (!writer.fits(length)) {
        const batch = reader.take(1);
        for (const frame of batch.frames) {
          assert.deepEqual(frame.body, Buffer.from(bytes(1 + ((read * 37) % 200), read % 251)));
          assert.equal(frame.rejected, read);
          read++;
        }
        reader.release(batch.end);
      }
      writer.write({ ...header, rejected: round }, [bytes(length, round % 251)], length);
      written++;
    }
    const rest = reader.take(1 << 20);
    reader.release(rest.end);
    assert.equal(read + rest.frames.length, written);
    assert.equal(writer.usedBytes, 0);
  });

  test('a full ring refuses a frame, and frees exactly what was released', () => {
    const writer = new RingProducer(256);
    const reader = new RingConsumer(writer.buffer);
    const size = frameBytes(32); // 64
    for (let index = 0; index < 4; index++) {
      assert.ok(writer.fits(32));
      writer.write(header, [bytes(32, index)], 32);
    }
    assert.equal(writer.usedBytes, 4 * size);
    assert.ok(!writer.fits(1), 'full');
    const first = reader.take(1);
    assert.equal(first.frames.length, 1);
    assert.ok(!writer.fits(32), 'taken but not released is still occupied');
    reader.release(first.end);
    assert.ok(writer.fits(32));
  });

  test('a frame that does not fit the tail skips to the start behind a padding marker', () => {
    const writer = new RingProducer(256);
    const reader = new RingConsumer(writer.buffer);
    writer.write(header, [bytes(150, 1)], 150); // 176 bytes, tail left: 80
    reader.release(reader.take(1).end);
    assert.ok(writer.fits(100), '128-byte frame: 80 bytes of padding + 128 <= 256');
    writer.write(header, [bytes(100, 2)], 100);
    const batch = reader.take(1 << 10);
    assert.equal(batch.frames.length, 1);
    assert.deepEqual(batch.frames[0]!.body, Buffer.from(bytes(100, 2)));
  });

  test('a frame of several chunks is one contiguous body', () => {
    const writer = new RingProducer(1024);
    writer.write({ ...header, flags: kFlagWantsResults }, [bytes(3, 7), bytes(2, 9)], 5);
    const [frame] = new RingConsumer(writer.buffer).take(1024).frames;
    assert.deepEqual([...frame!.body], [7, 7, 7, 9, 9]);
    assert.equal(frame!.flags, kFlagWantsResults);
  });

  test('msgpack frames written on this thread decode intact on another thread', async () => {
    const writer = new RingProducer(1 << 16);
    const events = [
      { topic: 'a.b', event_id: 'é✓🎉', timestamp: '2025-10-22T10:30:00Z', source: 's', payload: { nested: { list: [1, 2.5, null, true, 'x'] }, big: 2 ** 53 - 1 } },
      { topic: 'c', event_id: '2', timestamp: '2025-10-22T10:30:00+02:00', source: 's', payload: {} },
    ];
    const chunks = events.map((item, index) => Buffer.from(encodeRecord(100 + index, item)));
    const length = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    writer.write({ ...header, eventCount: 2 }, chunks, length);
    const worker = startTsWorker(new URL('../../fixtures/ring-consumer.ts', import.meta.url), { buffer: writer.buffer, take: true });
    const [message] = await once(worker, 'message');
    await worker.terminate();
    assert.equal(message.claimed, true);
    assert.deepEqual(message.frames[0].records, events.map((item, index) => [100 + index, item.topic, item.event_id, item.timestamp, item.source, item.payload]));
    assert.equal(writer.usedBytes, 0, 'the consumer released the frame');
  });

});
