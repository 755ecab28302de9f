import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeCursor, encodeCursor } from '../../../src/events/cursor.js';
import { kDefaultLimit, parseEventsQuery } from '../../../src/events/query.js';

describe('events query', () => {
  test('cursors round-trip and are opaque', () => {
    for (const seq of [0, 1, 17, 2 ** 40]) {
      const cursor = encodeCursor(seq);
      assert.match(cursor, /^[A-Za-z0-9_-]+$/);
      assert.equal(decodeCursor(cursor), seq);
    }
  });

  test('defaults, and every bad value is an invalid_query', () => {
    assert.deepEqual(parseEventsQuery(new URLSearchParams('')), { topic: null, limit: kDefaultLimit, afterSeq: 0, hasCursor: false });
    assert.deepEqual(parseEventsQuery(new URLSearchParams(`topic=a.b&limit=1000&after=${encodeCursor(9)}`)), { topic: 'a.b', limit: 1000, afterSeq: 9, hasCursor: true });
    for (const query of ['limit=0', 'limit=1001', 'limit=1.5', 'limit=', 'after=%%%', `after=${Buffer.from('v2:1').toString('base64url')}`, 'topic=', 'topic=a%20b']) {
      assert.throws(() => parseEventsQuery(new URLSearchParams(query)), { code: 'invalid_query' }, query);
    }
  });
});
