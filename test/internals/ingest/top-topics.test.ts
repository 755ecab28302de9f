import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { TopTopics } from '../../../src/ingest/top-topics.js';

describe('TopTopics', () => {
  test('is always the exact top by received, whatever order growing counts come in (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 1, max: 50 })), { maxLength: 400 }), (capacity, growths) => {
        const top = new TopTopics(capacity);
        const counts = new Map<string, number>();
        for (const [topic, added] of growths) {
          const name = `t${topic}`;
          const received = (counts.get(name) ?? 0) + added;
          counts.set(name, received);
          top.offer(name, received);
        }
        const expected = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, capacity);
        const got = top.list();
        assert.equal(got.length, expected.length);
        // Ties at the boundary may pick either topic: compare the counts, then the names above the boundary.
        assert.deepEqual(got.map((name) => counts.get(name)), expected.map(([, received]) => received));
      }),
    );
  });

  test('capacity 0 keeps nothing', () => {
    const top = new TopTopics(0);
    top.offer('a', 5);
    assert.deepEqual(top.list(), []);
  });
});
