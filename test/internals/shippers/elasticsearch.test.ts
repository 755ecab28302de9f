import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseBulk } from '../../../src/shippers/elasticsearch.js';

const receivedAt = new Date('2025-01-01T00:00:00Z');

describe('parseBulk', () => {
  test('the fast read of the canonical action line gives what JSON.parse gives (property)', () => {
    // Any index and id text: the canonical form is read by the fast path when it can be, the spaced form always by JSON.parse.
    fc.assert(
      fc.property(fc.constantFrom('create', 'index'), fc.string({ maxLength: 20 }), fc.string({ minLength: 1, maxLength: 20 }), (action, index, id) => {
        const document = JSON.stringify({ message: 'm' });
        const canonical = `${JSON.stringify({ [action]: { _index: index, _id: id } })}\n${document}\n`;
        const spaced = `{ "${action}" : { "_index" : ${JSON.stringify(index)} , "_id" : ${JSON.stringify(id)} } }\n${document}\n`;
        assert.deepEqual(parseBulk(canonical, null, 'host.name', receivedAt), parseBulk(spaced, null, 'host.name', receivedAt));
      }),
    );
  });

  test('a raw control character in an action line is still the request\'s 400, as JSON.parse says', () => {
    assert.throws(() => parseBulk('{"create":{"_index":"a","_id":"x\ty"}}\n{}\n', null, 'host.name', receivedAt), /not valid JSON/);
  });
});
