import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { shardOf } from '../../../src/events/shard-key.js';

/** FNV-1a over bytes, written independently from the product code. */
function referenceFnv1a(bytes: Uint8Array): number {
  let hash = 2166136261;
  for (const byte of bytes) hash = Number((BigInt(hash ^ byte) * 16777619n) & 0xffffffffn);
  return hash;
}

describe('shardOf', () => {
  test('is FNV-1a of "topic NUL event_id"', () => {
    for (const [topic, eventId] of [['auth.prod', 'evt-1'], ['a', 'b'], ['payment.dev', 'x-99']] as const) {
      const expected = referenceFnv1a(Buffer.from(`${topic}\u0000${eventId}`, 'latin1'));
      for (const shards of [1, 2, 3, 8, 16]) assert.equal(shardOf(topic, eventId, shards), expected % shards);
    }
  });

  test('never changes for known keys (stored data was routed by it)', () => {
    assert.deepEqual(
      [['auth.prod', 'evt-1'], ['auth.prod', 'evt-2'], ['payment.dev', 'evt-1'], ['a', 'b']].map(([topic, id]) => [2, 4, 7].map((shards) => shardOf(topic!, id!, shards))),
      [[1, 1, 4], [0, 0, 3], [1, 3, 4], [0, 2, 3]],
    );
  });

  test('the separator keeps ("ab","c") and ("a","bc") apart and spreads keys evenly', () => {
    const counts = [0, 0, 0, 0];
    for (let index = 0; index < 40_000; index++) counts[shardOf('topic', `id-${index}`, 4)]!++;
    for (const count of counts) assert.ok(Math.abs(count - 10_000) < 600, `uneven: ${counts}`);
    const pairs = Array.from({ length: 64 }, (_, index) => [shardOf(`t${index}`, 'x', 1 << 20), shardOf('t', `${index}x`, 1 << 20)]);
    assert.ok(pairs.some(([left, right]) => left !== right));
  });
});
