import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CounterHistory, ratesBetween, type CounterSample } from '../../../../src/dashboard/client/rates.js';

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

});
