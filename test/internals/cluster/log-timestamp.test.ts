import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { timestampMicrosOf } from '../../../src/cluster/log-timestamp.js';

describe('log timestamp', () => {
  test('a log timestamp is read to the µs from its text, the same on every replica', () => {
    assert.equal(timestampMicrosOf('2026-12-01T16:06:28.123456789Z'), Date.parse('2026-12-01T16:06:28Z') * 1000 + 123456);
    assert.equal(timestampMicrosOf('2026-12-01T16:06:28Z'), Date.parse('2026-12-01T16:06:28Z') * 1000);
    assert.equal(timestampMicrosOf('2026-12-01T16:06:28.5+01:00'), Date.parse('2026-12-01T15:06:28Z') * 1000 + 500000);
    assert.throws(() => timestampMicrosOf('yesterday'));
  });
});
