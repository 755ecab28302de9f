import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StatsHistory } from '../../../../src/dashboard/client/api-types.js';
import { CounterHistory, historySamples, ratesBetween, type CounterSample } from '../../../../src/dashboard/client/rates.js';

function sample(uptime: number, received: number, duplicates: number, topics: Record<string, number> = {}): CounterSample {
  return { uptime, received, unique: received - duplicates, duplicates, topics: new Map(Object.entries(topics)) };
}

describe('dashboard rates', () => {
  test('rates divide by the server uptime between polls, per topic too', () => {
    const rates = ratesBetween(sample(10, 100, 10, { a: 60, b: 40 }), sample(12, 300, 50, { a: 260, b: 40, c: 0 }))!;
    assert.deepEqual([rates.received, rates.unique, rates.duplicates], [100, 80, 20]);
    assert.deepEqual([...rates.topics], [['a', 100], ['b', 0], ['c', 0]]);
  });

  test('no rate across a restart or for the same instant', () => {
    assert.equal(ratesBetween(sample(10, 100, 0), sample(2, 5, 0)), null);
    assert.equal(ratesBetween(sample(10, 100, 0), sample(10, 100, 0)), null);
  });

  test('history keeps its window, averages over recent seconds, and starts over after a restart', () => {
    const history = new CounterHistory(10);
    for (let second = 0; second <= 20; second++) history.add(1000 + second, sample(second, second * 10, second * 2));
    assert.deepEqual([history.points.length, history.points[0]!.at], [11, 1010], 'points older than the window are dropped');
    assert.equal(history.ratesOver(5)!.received, 10);
    assert.equal(history.duplicateRatioOver(60), 0.2);
    history.add(1021, sample(0.5, 3, 0));
    assert.equal(history.points.length, 0, 'a restart clears the history');
    assert.equal(history.duplicateRatioOver(60), null, 'nothing received since');
  });

  // The server's history: intervals of 1 s ending at uptime 100, 101, 102, 103; the counters were
  // received 500 / duplicates 50 at its end; a poll at uptime 103.4 sees 6 more received, 1 duplicate.
  const serverHistory: StatsHistory = {
    interval_ms: 1000,
    capacity: 900,
    end_uptime: 103,
    end_counts: { received: 500, unique_processed: 450, duplicate_dropped: 50 },
    received: [10, 0, 20, 30],
    unique_processed: [10, 0, 15, 25],
    duplicate_dropped: [0, 0, 5, 5],
  };
  const firstPoll = (): CounterSample => ({ uptime: 103.4, received: 506, unique: 455, duplicates: 51, topics: new Map([['a', 506]]) });

  test("the server's history becomes the cumulative samples it implies, placed on the browser's clock", () => {
    const samples = historySamples(serverHistory, 103.4, 2000.4);
    assert.deepEqual(
      samples.map(({ at, sample }) => [Math.round(at * 10) / 10, sample.uptime, sample.received, sample.unique, sample.duplicates, sample.topics]),
      [
        [1996, 99, 440, 400, 40, null],
        [1997, 100, 450, 410, 40, null],
        [1998, 101, 450, 410, 40, null],
        [1999, 102, 470, 425, 45, null],
        [2000, 103, 500, 450, 50, null],
      ],
    );
    assert.deepEqual(historySamples({ ...serverHistory, end_uptime: 0.4, received: [], unique_processed: [], duplicate_dropped: [] }, 0.5, 10).map(({ sample }) => [sample.uptime, sample.received]), [[0.4, 500]], 'no interval yet: the counters at the start');
  });

  test('history then live polls: one point a second, no gap and nothing twice at the seam', () => {
    const history = new CounterHistory(900);
    for (const past of historySamples(serverHistory, 103.4, 2000.4)) history.add(past.at, past.sample);
    assert.deepEqual(history.points.map((point) => point.received), [10, 0, 20, 30], 'the history drawn before any live poll');
    const seam = history.add(2000.4, firstPoll())!;
    assert.ok(Math.abs(seam.received - 6 / 0.4) < 1e-9, 'the seam: what came after the history, over the time since its end');
    history.add(2001.4, { uptime: 104.4, received: 516, unique: 464, duplicates: 52, topics: new Map([['a', 516]]) });
    const points = history.points;
    assert.deepEqual(points.map((point) => Math.round(point.at * 10) / 10), [997, 998, 999, 1000, 1000.4, 1001.4].map((at) => at + 1000), 'strictly increasing, no gap');
    // Rate × the time each point covers adds up to exactly the counters' growth over the history and the polls.
    const uptimes = [99, 100, 101, 102, 103, 103.4, 104.4];
    const counted = points.reduce((total, point, index) => total + point.received * (uptimes[index + 1]! - uptimes[index]!), 0);
    assert.ok(Math.abs(counted - (516 - 440)) < 1e-9, `${counted} events drawn, 76 happened`);
    // Per-topic rates need two live polls (the history has no topics), and then come from those alone.
    assert.deepEqual([...history.ratesOver(5)!.topics], [['a', 10]]);
  });

  test('a poll in the same server instant as the end of the history is skipped, not counted as a zero-length interval', () => {
    const history = new CounterHistory(900);
    for (const past of historySamples(serverHistory, 103, 2000)) history.add(past.at, past.sample);
    assert.equal(history.add(2000, { ...firstPoll(), uptime: 103 }), null);
    const next = history.add(2001, { uptime: 104, received: 506, unique: 455, duplicates: 51, topics: new Map() })!;
    assert.equal(next.received, 6, 'the events of the skipped poll are in the next difference');
    assert.equal(history.ratesOver(5)!.topics.size, 0, 'no topic rates from a single live poll');
  });

});
