import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isRfc3339DateTime, topicPattern } from '../../../src/events/schema.js';
import { contentId, nanosFromText, timestampFromNanos, topicFrom } from '../../../src/shippers/mapping.js';

describe('shipper mapping helpers', () => {
  test('contentId: the same parts, the same id; a different split, a different id', () => {
    assert.equal(contentId('a', 'b'), contentId('a', 'b'));
    assert.notEqual(contentId('a', 'bc'), contentId('ab', 'c'));
    assert.match(contentId('x'), /^h-[A-Za-z0-9_-]{32}$/);
  });

  test('topicFrom always gives a valid topic, or null for an empty name', () => {
    const pattern = new RegExp(topicPattern);
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (name) => {
        const topic = topicFrom(name);
        if (name === '') assert.equal(topic, null);
        else assert.ok(topic !== null && pattern.test(topic) && topic.length <= 128, `${JSON.stringify(name)} → ${topic}`);
      }),
    );
    assert.equal(topicFrom('unknown_service:node'), 'unknown_service_node');
    assert.equal(topicFrom('_private'), 't_private');
  });

  test('timestampFromNanos keeps all nine digits and is always RFC 3339; 0 and out of range are null', () => {
    assert.equal(timestampFromNanos(1_761_129_000_000_000_001n), '2025-10-22T10:30:00.000000001Z');
    assert.equal(timestampFromNanos(0n), null);
    assert.equal(timestampFromNanos(2n ** 64n - 1n), '2554-07-21T23:34:33.709551615Z', 'the largest fixed64');
    assert.equal(timestampFromNanos(300_000_000_000n * 1_000_000_000n), null, 'past year 9999');
    fc.assert(fc.property(fc.bigInt({ min: 1n, max: 10n ** 21n }), (nanos) => {
      const timestamp = timestampFromNanos(nanos);
      assert.ok(timestamp === null || isRfc3339DateTime(timestamp), timestamp ?? '');
    }));
  });

  test('nanosFromText takes decimal strings and non-negative integers only', () => {
    assert.equal(nanosFromText('1761129000000000001'), 1_761_129_000_000_000_001n);
    assert.equal(nanosFromText(5), 5n);
    for (const bad of ['-1', '1.5', '', 'abc', -1, 1.5, null, undefined, {}]) assert.equal(nanosFromText(bad), null, String(bad));
  });
});
