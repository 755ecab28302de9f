import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { RingProducer } from '../../../src/ring/producer.js';
import { startTsWorker } from '../../helper.js';

const consumerFixture = new URL('../../fixtures/ring-consumer.ts', import.meta.url);

function startConsumer(buffer: SharedArrayBuffer): Worker {
  return startTsWorker(consumerFixture, { buffer, take: false });
}

describe('RingConsumer', () => {
  // Invariant 1, one writer per shard (docs/ARCHITECTURE.md): the ring side.
  test('a second thread cannot consume a ring while another holds it', async () => {
    const ring = new RingProducer(1 << 16);
    const first = startConsumer(ring.buffer);
    assert.deepEqual((await once(first, 'message'))[0], { claimed: true });

    const second = startConsumer(ring.buffer);
    assert.deepEqual((await once(second, 'message'))[0], { claimed: false, code: 'ring_claimed' });
    await second.terminate();

    first.postMessage('release');
    assert.deepEqual((await once(first, 'message'))[0], { released: true });
    const third = startConsumer(ring.buffer);
    assert.deepEqual((await once(third, 'message'))[0], { claimed: true }, 'a released ring can be claimed again');
    await Promise.all([first.terminate(), third.terminate()]);
  });
});
