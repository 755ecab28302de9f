import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isEventId, isRfc3339DateTime } from '../../../src/events/schema.js';

describe('event field formats', () => {
  test('RFC 3339 date-times need a zone and real calendar values', () => {
    const valid = ['2025-10-22T10:30:00Z', '2025-10-22t10:30:00z', '2025-10-22T10:30:00.5+05:30', '2024-02-29T00:00:00-00:00', '2016-12-31T23:59:60Z', '2017-01-01T00:59:60+01:00', '2000-02-29T00:00:00Z', '2025-10-22T10:30:00.000000001Z'];
    const invalid = ['2025-10-22T10:30:00', '2025-10-22 10:30:00Z', '2025-10-22', '2023-02-29T00:00:00Z', '2025-04-31T00:00:00Z', '2025-10-22T24:00:00Z', '2025-10-22T10:60:00Z', '2025-10-22T10:30:00+24:00', '2025-10-22T10:30:60Z', '2025-10-22T10:30:00.Z', '+2025-10-22T10:30:00Z', '2025-10-22T10:30:00.123', '2025-10-22T10:30:00+0200', '2025-1-22T10:30:00Z', '2025-10-22T10:30:00Zjunk', '2025-10-22T10:30:00+02:00x', '2025-10-22T10:30:00+2:00', '２025-10-22T10:30:00Z', '2025-00-10T10:30:00Z', '2025-10-00T10:30:00Z', '2100-02-29T00:00:00Z'];
    for (const value of valid) assert.ok(isRfc3339DateTime(value), value);
    for (const value of invalid) assert.ok(!isRfc3339DateTime(value), value);
  });

  test('event ids refuse control characters and lone surrogates', () => {
    assert.ok(isEventId('evt-12345'));
    assert.ok(isEventId('ünïcödé ✓ 🎉'));
    for (const value of ['a\u0000', 'a\tb', 'a\u007f', 'a\u0085', 'a\ud800', '\udc00b']) assert.ok(!isEventId(value), JSON.stringify(value));
  });
});
