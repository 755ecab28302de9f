import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { waitFor } from '../../../harness/wait.js';
import { kRateCapacity, RateHistory, RateRing } from '../../../src/ingest/rate-history.js';
import type { TopicTotals } from '../../../src/ingest/storage.js';

const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);

/** A history over counters and a clock the test moves by hand. */
function driven(options: { capacity?: number } = {}) {
  const counters: TopicTotals = { received: 1000, unique: 900, duplicates: 100 };
  let now = 50_000;
  const history = new RateHistory(() => counters, { now: () => now, ...options });
  return {
    counters,
    history,
    /** Moves the clock by `ms` and lets the timer's callback run once. */
    advance(ms: number) {
      now += ms;
      history.sample();
    },
  };
}

describe('RateRing', () => {
  test('keeps the intervals oldest first, at most its capacity, and wraps around', () => {
    const ring = new RateRing(4);
    assert.deepEqual(ring.columns(), { received: [], unique: [], duplicates: [] });
    for (let index = 1; index <= 3; index++) ring.push({ received: index, unique: index * 10, duplicates: index * 100 });
    assert.equal(ring.length, 3);
    assert.deepEqual(ring.columns(), { received: [1, 2, 3], unique: [10, 20, 30], duplicates: [100, 200, 300] });
    for (let index = 4; index <= 10; index++) ring.push({ received: index, unique: index * 10, duplicates: index * 100 });
    assert.equal(ring.length, 4, 'bounded');
    assert.deepEqual(ring.columns(), { received: [7, 8, 9, 10], unique: [70, 80, 90, 100], duplicates: [700, 800, 900, 1000] }, 'the oldest overwritten, order kept across the wrap');
  });

  test('a capacity that is not a positive integer is refused', () => {
    assert.throws(() => new RateRing(0), /capacity must be a positive integer/);
    assert.throws(() => new RateRing(1.5), /capacity must be a positive integer/);
  });
});

describe('RateHistory', () => {
  test('one interval a second: each holds what every counter grew by in it, a still counter as 0', () => {
    const { counters, history, advance } = driven();
    advance(1000);
    counters.received += 7;
    counters.unique += 5;
    counters.duplicates += 2;
    advance(1000);
    counters.received += 3;
    counters.unique += 3; // duplicates does not move
    advance(1000);
    const snapshot = history.snapshot();
    assert.deepEqual([snapshot.received, snapshot.unique, snapshot.duplicates], [[0, 7, 3], [0, 5, 3], [0, 2, 0]]);
    assert.deepEqual(snapshot.endCounts, { received: 1010, unique: 908, duplicates: 102 });
    assert.equal(snapshot.endAt, 53_000, 'the third interval ended 3 s after the start');
    assert.deepEqual([snapshot.intervalMs, snapshot.capacity], [1000, kRateCapacity]);
  });

  test('bounded at 900 intervals (15 minutes), the newest kept, and the sums match the counters', () => {
    const { counters, history, advance } = driven();
    for (let second = 1; second <= 1000; second++) {
      counters.received += second;
      counters.unique += second;
      advance(1000);
    }
    const snapshot = history.snapshot();
    assert.equal(snapshot.received.length, 900);
    assert.deepEqual([snapshot.received[0], snapshot.received.at(-1)], [101, 1000], 'oldest first: seconds 101..1000');
    assert.equal(sum(snapshot.received), snapshot.endCounts.received - (1000 + sum(Array.from({ length: 100 }, (_, index) => index + 1))), 'the intervals add up to the growth since the oldest began');
    assert.equal(sum(snapshot.duplicates), 0);
  });

  test('intervals stay pinned to the clock: an early tick samples nothing, a late one fills the intervals it skipped with 0', () => {
    const { counters, history, advance } = driven();
    advance(999);
    assert.equal(history.snapshot().received.length, 0, 'no interval ended yet');
    advance(1);
    counters.received += 4;
    advance(3500); // 4.5 s: intervals 2 and 3 skipped, the 4 events land in interval 4
    const snapshot = history.snapshot();
    assert.deepEqual(snapshot.received, [0, 0, 0, 4]);
    assert.equal(snapshot.endAt, 54_000, 'the newest interval ends on the second, not when the tick came');
    advance(100);
    assert.equal(history.snapshot().received.length, 4, 'still inside the next interval');
  });

  test('a thread asleep for longer than the ring holds leaves one ring of zeros and the counts in the last interval', () => {
    const { counters, history, advance } = driven({ capacity: 5 });
    counters.received += 9;
    advance(60_000);
    assert.deepEqual(history.snapshot().received, [0, 0, 0, 0, 9]);
  });

  test('a counter that goes down counts 0, and the next interval starts from the lower value', () => {
    const { counters, history, advance } = driven();
    counters.received -= 10;
    advance(1000);
    counters.received += 4;
    advance(1000);
    assert.deepEqual(history.snapshot().received, [0, 4]);
  });

  test('the timer samples until close; close is idempotent and start after it does nothing', async () => {
    const counters = { received: 0, unique: 0, duplicates: 0 };
    const history = new RateHistory(() => counters, { intervalMs: 5 });
    history.start();
    history.start();
    counters.received = 3;
    await waitFor(() => history.snapshot().received.length >= 2 && sum(history.snapshot().received) === 3, 'the timer to sample two intervals and the 3 events');
    history.close();
    const sampled = history.snapshot();
    history.close();
    history.start();
    await new Promise((resolve) => setTimeout(resolve, 20)); // a negative check: four intervals' time, and nothing sampled after close
    assert.deepEqual(history.snapshot().received, sampled.received);
  });
});
