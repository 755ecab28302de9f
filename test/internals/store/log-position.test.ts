import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { clockAfter, firstSeqOf } from '../../../src/store/log-position.js';

describe('log position: the seqs a shard log gives', () => {
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

});
