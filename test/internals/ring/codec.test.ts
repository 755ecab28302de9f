import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { findProblems } from '../../../src/events/validate.js';
import { decodeRecords, encodeRecord, payloadJson } from '../../../src/ring/codec.js';
import { hostileJsonText } from '../../helper.js';

describe('ring record codec', () => {
  test('a payload sent as JSON text reaches the store byte for byte; a map is serialised', () => {
    const payload = JSON.parse('{"__proto__":{"x":1},"s":"\\ud800"}');
    const event = { topic: 't', event_id: 'e', timestamp: '2025-10-22T10:30:00Z', source: 's', payload };
    const [asText] = decodeRecords(Buffer.from(encodeRecord(7, event, true)));
    assert.equal(payloadJson(asText!), '{"__proto__":{"x":1},"s":"\\ud800"}');
    const [asMap] = decodeRecords(Buffer.from(encodeRecord(8, event)));
    assert.notEqual(payloadJson(asMap!), JSON.stringify(payload), 'as a map, msgpack changes it: why the text path exists');
  });

  test('property: with the validator choosing the path, every payload is stored exactly as JSON.stringify gives it', () => {
    fc.assert(
      fc.property(hostileJsonText(), fc.nat(2 ** 40), (text, seq) => {
        const payload = JSON.parse(`{"p":${text}}`);
        const event = { topic: 't', event_id: 'e', timestamp: '2025-10-22T10:30:00Z', source: 's', payload };
        const asText: number[] = [];
        assert.deepEqual(findProblems([event], { maxPayloadDepth: 64 }, asText), []);
        const [record] = decodeRecords(Buffer.from(encodeRecord(seq, event, asText.length > 0)));
        assert.equal(record![0], seq);
        assert.equal(payloadJson(record!), JSON.stringify(payload));
      }),
      { numRuns: 500 },
    );
  });

  test('records encoded back to back stay valid while more are encoded', () => {
    const first = encodeRecord(1, { topic: 't', event_id: 'first', timestamp: 'x', source: 's', payload: {} });
    const copy = Buffer.from(first);
    for (let index = 0; index < 10_000; index++) encodeRecord(index, { topic: 't', event_id: `e${index}`, timestamp: 'x', source: 's', payload: { index } });
    assert.deepEqual(Buffer.from(first), copy);
    assert.deepEqual(decodeRecords(first), [[1, 't', 'first', 'x', 's', {}]]);
  });
});
