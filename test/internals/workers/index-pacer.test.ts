import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { IndexPacer } from '../../../src/workers/index-pacer.js';

describe('IndexPacer', () => {
  const options = { busyMs: 250, busyShare: 0.25, retryMs: 5000 };

  test('with commits coming, a slice of t ms is followed by 3t ms without one (a quarter of the time)', () => {
    let now = 1000;
    const pacer = new IndexPacer(options, () => now);
    pacer.committed();
    assert.equal(pacer.wait(), 0, 'the first slice runs at once');
    now += 10;
    pacer.ran(1000, true);
    assert.equal(pacer.wait(), 30);
    now += 30;
    assert.equal(pacer.wait(), 0);
  });

  test('once commits stopped, slices run back to back; a failed slice waits retryMs', () => {
    let now = 1000;
    const pacer = new IndexPacer(options, () => now);
    pacer.committed();
    now += 300;
    pacer.ran(now - 10, true);
    assert.equal(pacer.wait(), 0, 'no commit within busyMs: no pause');
    pacer.ran(now, false);
    assert.equal(pacer.wait(), 5000);
  });
});
