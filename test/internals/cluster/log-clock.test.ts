import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { clockAfter, firstSeqOf, timestampMicrosOf } from '../../../src/cluster/log-clock.js';

describe('cluster log clock', () => {
  test('any interleaving of messages over shards gives seqs that grow within a shard, never collide across shards, and stay above every frontier', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.record({ shard: fc.nat(7), at: fc.integer({ min: 0, max: 5000 }), events: fc.integer({ min: 0, max: 20 }) }), { maxLength: 200 }), (shards, messages) => {
        const clocks = new Array<number>(shards).fill(0);
        const seen = new Set<number>();
        for (const message of messages) {
          const shard = message.shard % shards;
          const first = firstSeqOf(clocks[shard]!, message.at, shard, shards);
          assert.ok(first > clocks[shard]!, 'a message starts above its shard clock');
          assert.ok(first >= message.at, 'and not below its log timestamp');
          assert.equal(((first % shards) + shards) % shards, shard, 'in its shard residue');
          for (let index = 0; index < message.events; index++) {
            const seq = first + index * shards;
            assert.ok(!seen.has(seq), `seq ${seq} given twice`);
            seen.add(seq);
          }
          clocks[shard] = clockAfter(first, message.events, shards);
        }
      }),
    );
  });

  test('a log timestamp is read to the µs from its text, the same on every replica', () => {
    assert.equal(timestampMicrosOf('2026-12-01T16:06:28.123456789Z'), Date.parse('2026-12-01T16:06:28Z') * 1000 + 123456);
    assert.equal(timestampMicrosOf('2026-12-01T16:06:28Z'), Date.parse('2026-12-01T16:06:28Z') * 1000);
    assert.equal(timestampMicrosOf('2026-12-01T16:06:28.5+01:00'), Date.parse('2026-12-01T15:06:28Z') * 1000 + 500000);
    assert.throws(() => timestampMicrosOf('yesterday'));
  });
});
