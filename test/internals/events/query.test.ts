import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeCursor, encodeCursor } from '../../../src/events/cursor.js';
import { kDefaultLimit, parseEventsQuery, parseIndexFields } from '../../../src/events/query.js';

describe('events query', () => {
  test('cursors round-trip and are opaque', () => {
    for (const seq of [0, 1, 17, 2 ** 40]) {
      const cursor = encodeCursor(seq);
      assert.match(cursor, /^[A-Za-z0-9_-]+$/);
      assert.equal(decodeCursor(cursor), seq);
    }
  });

  test('an engine takes only its own cursors: v2 (cluster) and v1 (single node) are refused by the other', () => {
    const clusterSeq = 1_796_139_527_471_189; // a µs log clock: 16 digits
    assert.equal(decodeCursor(encodeCursor(clusterSeq, 2), 2), clusterSeq);
    assert.throws(() => decodeCursor(encodeCursor(5, 1), 2), { code: 'invalid_query', message: /v1 cursor/ });
    assert.throws(() => decodeCursor(encodeCursor(5, 2), 1), { code: 'invalid_query', message: /v2 cursor/ });
    assert.throws(() => decodeCursor(Buffer.from('v2:99999999999999999').toString('base64url'), 2), { code: 'invalid_query' });
    assert.equal(parseEventsQuery(new URLSearchParams(`after=${encodeCursor(clusterSeq, 2)}`), 2).afterSeq, clusterSeq);
  });

  test('defaults, and every bad value is an invalid_query', () => {
    assert.deepEqual(parseEventsQuery(new URLSearchParams('')), { topic: null, filter: null, limit: kDefaultLimit, afterSeq: 0, hasCursor: false });
    assert.deepEqual(parseEventsQuery(new URLSearchParams(`topic=a.b&limit=1000&after=${encodeCursor(9)}`)), { topic: 'a.b', filter: null, limit: 1000, afterSeq: 9, hasCursor: true });
    for (const query of ['limit=0', 'limit=1001', 'limit=1.5', 'limit=', 'after=%%%', `after=${Buffer.from('v2:1').toString('base64url')}`, 'topic=', 'topic=a%20b']) {
      assert.throws(() => parseEventsQuery(new URLSearchParams(query)), { code: 'invalid_query' }, query);
    }
  });
});

describe('search filters', () => {
  test('since/until (RFC 3339 or relative) normalised to UTC; source; payload fields with a number form', () => {
    const before = Date.now();
    const query = parseEventsQuery(new URLSearchParams('since=2025-10-22T12:30:00%2B02:00&until=-15m&source=api&payload.user.id=7&payload.name=abc'));
    assert.equal(query.filter!.since, '2025-10-22T10:30:00.000Z');
    const until = Date.parse(query.filter!.until!);
    assert.ok(until >= before - 15 * 60_000 && until <= Date.now() - 15 * 60_000);
    assert.equal(query.filter!.source, 'api');
    assert.deepEqual(query.filter!.fields, [
      { path: ['user', 'id'], text: '7', number: 7 },
      { path: ['name'], text: 'abc', number: null },
    ]);
  });

  test('--index-field paths', () => {
    assert.deepEqual(parseIndexFields(' request_id , user.id'), [['request_id'], ['user', 'id']]);
    assert.deepEqual(parseIndexFields(''), []);
    for (const bad of ['a..b', 'a b', "a'b", '$.a']) assert.throws(() => parseIndexFields(bad), /is not a payload field/, bad);
  });
});
