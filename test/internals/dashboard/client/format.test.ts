import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatBytes, formatDuration, formatPercent, formatRate } from '../../../../src/dashboard/client/format.js';

describe('dashboard formats', () => {
  test('rates, percentages, bytes and durations', () => {
    assert.equal(formatRate(0.44), '0.4');
    assert.equal(formatRate(12345.6), '12,346');
    assert.equal(formatPercent(15 / 85), '17.6 %');
    assert.equal(formatPercent(null), '–');
    assert.equal(formatBytes(33_554_432), '32 MiB');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatDuration(59.9), '59s');
    assert.equal(formatDuration(3723), '1h 02m');
    assert.equal(formatDuration(90_000), '1d 01h');
  });
});
