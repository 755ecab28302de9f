import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { pack } from 'msgpackr';
import { decodeBody } from '../../../src/events/decode.js';
import { BadJsonError } from '../../../src/errors.js';
import { hostileJsonText } from '../../helper.js';


describe('decodeBody', () => {
  test('msgpack strings must be valid UTF-8, like JSON bodies: 400 instead of silent U+FFFD', () => {
    const good = Buffer.from(pack({ a: 'ok', b: ['é', '😀'] }));
    assert.deepEqual(decodeBody(good, 'msgpack'), [{ a: 'ok', b: ['é', '😀'] }]);
    for (const bad of [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]]) {
      const fixstr = Buffer.from([0x81, 0xa1, 0x6b, 0xa0 | bad.length, ...bad]); // {"k": <bad>}
      assert.throws(() => decodeBody(fixstr, 'msgpack'), BadJsonError, `value ${bad}`);
      const asKey = Buffer.from([0x81, 0xa0 | bad.length, ...bad, 0x01]); // {<bad>: 1}
      assert.throws(() => decodeBody(asKey, 'msgpack'), BadJsonError, `key ${bad}`);
      const str8 = Buffer.concat([Buffer.from([0x91, 0xd9, 40 + bad.length]), Buffer.alloc(40, 0x61), Buffer.from(bad)]);
      assert.throws(() => decodeBody(str8, 'msgpack'), BadJsonError, `str 8 ${bad}`);
    }
    // Bytes of binary and numbers are not strings: they may hold anything.
    assert.deepEqual(decodeBody(Buffer.from([0x92, 0xcb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xcd, 0xff, 0xfe]), 'msgpack').length, 2);
  });

  test('the never-used msgpack byte 0xc1 is a bad body, not an object', () => {
    assert.throws(() => decodeBody(Buffer.from([0xc1]), 'msgpack'), /0xc1/);
    assert.throws(() => decodeBody(Buffer.from([0x81, 0xa1, 0x61, 0xc1]), 'msgpack'), BadJsonError);
  });

  test('a msgpack __proto__ key stays an own key; it neither becomes "__proto_" nor sets a prototype', () => {
    const value = JSON.parse('{"__proto__":{"polluted":true},"nested":[{"__proto__":1}],"k":"__proto__"}');
    const [decoded] = decodeBody(Buffer.from(pack(value)), 'msgpack') as Record<string, unknown>[];
    assert.equal(JSON.stringify(decoded), JSON.stringify(value));
    assert.ok(Object.hasOwn(decoded!, '__proto__'));
    assert.equal(Object.getPrototypeOf(decoded), Object.prototype);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    // Non-string keys become strings, as in the fast path; a map as a key is a bad body.
    assert.deepEqual(decodeBody(Buffer.from([0x82, 0xa9, ...Buffer.from('__proto__'), 0x01, 0x05, 0x02]), 'msgpack'), [JSON.parse('{"__proto__":1,"5":2}')]);
    assert.throws(() => decodeBody(Buffer.from([0x82, 0xa9, ...Buffer.from('__proto__'), 0x01, 0x80, 0x02]), 'msgpack'), BadJsonError);
  });

  test('property: any JSON value msgpack can carry (no lone surrogate) decodes exactly as JSON.parse gives it', () => {
    fc.assert(
      fc.property(hostileJsonText(), (text) => {
        const value = JSON.parse(text);
        // A lone surrogate cannot be UTF-8: packed, it is invalid msgpack, and refused as such.
        if (hasLoneSurrogate(value)) {
          assert.throws(() => decodeBody(Buffer.from(pack(value)), 'msgpack'), BadJsonError);
          return;
        }
        const decoded = decodeBody(Buffer.from(pack(value)), 'msgpack');
        assert.equal(JSON.stringify(decoded), JSON.stringify(Array.isArray(value) ? value : [value]));
      }),
      { numRuns: 500 },
    );
  });

  test('JSON and NDJSON bodies with invalid UTF-8 are 400', () => {
    assert.throws(() => decodeBody(Buffer.from([0x7b, 0xff, 0x7d]), 'json'), BadJsonError);
    assert.throws(() => decodeBody(Buffer.from([0x7b, 0x7d, 0x0a, 0xed, 0xa0, 0x80]), 'ndjson'), BadJsonError);
  });
});

function hasLoneSurrogate(value: unknown): boolean {
  if (typeof value === 'string') return !value.isWellFormed();
  if (Array.isArray(value)) return value.some(hasLoneSurrogate);
  if (value && typeof value === 'object') return Object.keys(value).some((key) => !key.isWellFormed() || hasLoneSurrogate((value as Record<string, unknown>)[key]));
  return false;
}
