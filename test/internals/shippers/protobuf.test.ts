import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { AggregatorError } from '../../../src/errors.js';
import { ProtoReader, ProtoWriter, WireType } from '../../../src/shippers/protobuf.js';

describe('ProtoReader', () => {
  test('reads what ProtoWriter writes: varints up to 2^53, strings, embedded messages', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 29 - 1 }), fc.maxSafeNat(), fc.string(), (field, number, text) => {
        const inner = new ProtoWriter().string(1, text).finish();
        const bytes = new ProtoWriter().varint(field, number).bytes(2, inner).finish();
        const reader = new ProtoReader(bytes);
        assert.ok(reader.next());
        assert.deepEqual([reader.field, reader.wireType], [field, WireType.Varint]);
        assert.equal(reader.uint(), number);
        assert.ok(reader.next());
        const message = reader.message();
        assert.ok(message.next());
        assert.equal(message.string(), text);
        assert.equal(message.next(), false);
        assert.equal(reader.next(), false);
      }),
    );
  });

  test('int64 is two\'s complement over ten bytes; fixed64 and double are little-endian', () => {
    const minusOne = new ProtoReader(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]));
    assert.equal(minusOne.int64(), -1n);
    const fixed = Buffer.alloc(8);
    fixed.writeBigUInt64LE(1_761_129_000_000_000_001n);
    assert.equal(new ProtoReader(fixed).fixed64(), 1_761_129_000_000_000_001n);
    fixed.writeDoubleLE(1.5);
    assert.equal(new ProtoReader(fixed).double(), 1.5);
  });

  test('every malformed message is the request\'s 400, never a crash or a read past the end', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const walk = (reader: ProtoReader, depth: number): void => {
          while (reader.next()) {
            if (reader.wireType === WireType.Bytes && depth < 4) walk(reader.message(), depth + 1);
            else reader.skip();
          }
        };
        try {
          walk(new ProtoReader(bytes), 0);
        } catch (error) {
          assert.ok(error instanceof AggregatorError && error.code === 'bad_json', String(error));
        }
      }),
    );
    assert.throws(() => new ProtoReader(Uint8Array.from([0x0a, 0x05, 0x01])).message(), /past the end/);
    const cut = new ProtoReader(Uint8Array.from([0x0a, 0x05, 0x01]));
    cut.next();
    assert.throws(() => cut.message(), /past the end/);
    assert.throws(() => new ProtoReader(Uint8Array.from([0x00])).next(), /field number 0/);
    assert.throws(() => new ProtoReader(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])).uint(), /longer than 10 bytes/);
  });

  test('a string that is not UTF-8 is refused', () => {
    const reader = new ProtoReader(Uint8Array.from([0x0a, 0x02, 0xc3, 0x28]));
    reader.next();
    assert.throws(() => reader.string(), /not valid UTF-8/);
  });
});
