import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { JetStreamClient, MsgHdrs } from 'nats';
import { Frontier, Ticker, type TickerOptions } from '../../../src/cluster/frontier.js';

describe('Frontier', () => {
  test('starts at the lowest clock, and the furthest event is the highest one (after a restart any clock may be an event)', () => {
    const frontier = new Frontier([30, 10, 20]);
    assert.equal(frontier.current, 10);
    assert.equal(frontier.furthestEvent, 30);
    assert.deepEqual([0, 1, 2].map((shard) => frontier.clockOf(shard)), [30, 10, 20]);
    assert.equal(frontier.cursorVersion, 2);
  });

  test('moves only when the shard holding it back moves, to the new lowest clock, and tells every listener once', () => {
    const frontier = new Frontier([10, 20, 30]);
    const seen: number[][] = [[], []];
    frontier.onAdvance(() => seen[0]!.push(frontier.current));
    frontier.onAdvance(() => seen[1]!.push(frontier.current));
    frontier.advance(2, 35, true);
    assert.equal(frontier.current, 10, 'shard 2 was not holding it');
    frontier.advance(0, 25, true);
    assert.equal(frontier.current, 20, 'shard 1 holds it now');
    frontier.advance(1, 40, true);
    assert.equal(frontier.current, 25);
    assert.deepEqual(seen, [[20, 25], [20, 25]]);
  });

  test('shards tied at the bottom: it moves when the last of them moves', () => {
    const frontier = new Frontier([5, 5, 9]);
    let advances = 0;
    frontier.onAdvance(() => advances++);
    frontier.advance(0, 7, true);
    assert.equal(frontier.current, 5);
    assert.equal(advances, 0);
    frontier.advance(1, 8, true);
    assert.equal(frontier.current, 7);
    assert.equal(advances, 1);
  });

  test('a tick moves its shard\'s clock, but is no event the others must pass', () => {
    const frontier = new Frontier([0, 0]);
    frontier.advance(0, 50, true);
    assert.equal(frontier.furthestEvent, 50);
    frontier.advance(1, 90, false);
    assert.equal(frontier.clockOf(1), 90);
    assert.equal(frontier.furthestEvent, 50, 'the tick\'s clock is not an event');
    assert.equal(frontier.current, 50);
  });
});

interface Published {
  readonly subject: string;
  readonly data: unknown;
  readonly clock: string | undefined;
  readonly at: number;
}

/** JetStream's publish, recorded; the rest of the client is never called. */
function fakeJetStream(result: () => Promise<unknown> = () => Promise.resolve({})): { js: JetStreamClient; published: Published[] } {
  const published: Published[] = [];
  const js = {
    publish: (subject: string, data: unknown, options: { headers: MsgHdrs }) => {
      published.push({ subject, data, clock: options.headers.get('agg-clock'), at: Date.now() });
      return result();
    },
  } as unknown as JetStreamClient;
  return { js, published };
}

/** Fake time: the ticker's interval and its performance.now() both follow `t.mock.timers.tick`. */
function fakeTime(t: TestContext): void {
  t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: 0 });
  t.mock.method(performance, 'now', () => Date.now());
}

/** Runs the ticker's interval `times` times (one interval at a time: the clock must be right at each). */
const tickerOptions = (owned: readonly number[], rung: number[] = []): TickerOptions => ({ intervalMs: 100, takeoverMs: 1000, owns: (shard) => owned.includes(shard), ring: (shard) => rung.push(shard) });

/** Fake time, a frontier of `shards` clocks at 0, a ticker owning `owned`, and shard 0 moved to an event at `eventAt`. */
function tickerAfterEvent(t: TestContext, owned: number[], options_: { shards?: number; eventAt?: number; publish?: () => Promise<unknown> } = {}): { frontier: Frontier; published: Published[]; ticker: Ticker } {
  const shards = options_.shards ?? 2;
  fakeTime(t);
  const frontier = new Frontier(new Array<number>(shards).fill(0));
  const { js, published } = fakeJetStream(options_.publish);
  const ticker = new Ticker(js, frontier, shards, tickerOptions(owned));
  frontier.advance(0, options_.eventAt ?? 50, true);
  return { frontier, published, ticker };
}

function ticks(t: TestContext, intervalMs: number, times: number): void {
  for (let index = 0; index < times; index++) t.mock.timers.tick(intervalMs);
}

describe('Ticker', () => {
  test('a tick rings its shard\'s doorbell once the stream acknowledged it, not when the publish failed', async (t) => {
    for (const [outcome, expected] of [[() => Promise.resolve({}), [1]], [() => Promise.reject(new Error('no leader')), []]] as const) {
      fakeTime(t);
      const frontier = new Frontier([0, 0]);
      const { js, published } = fakeJetStream(outcome);
      const rung: number[] = [];
      const ticker = new Ticker(js, frontier, 2, tickerOptions([0, 1], rung));
      frontier.advance(0, 50, true);
      ticks(t, 100, 2);
      assert.equal(published.length, 1);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(rung, expected);
      ticker.stop();
      t.mock.timers.reset();
    }
  });

  test('the owner ticks a shard that stood still for an interval behind another shard\'s event, with that event as the clock', (t) => {
    const { frontier, published, ticker } = tickerAfterEvent(t, [0, 1]);
    ticks(t, 100, 1); // first look: every clock is new
    assert.deepEqual(published, []);
    ticks(t, 100, 1); // shard 1 still for 100 ms, behind 50; shard 0 is at the furthest event
    assert.deepEqual(published.map(({ subject, data, clock }) => [subject, data, clock]), [['agg.1', undefined, '50']]);
    ticker.stop();
  });

  test('one tick at a time: none again while the last one has not arrived, for up to a second', (t) => {
    const { frontier, published, ticker } = tickerAfterEvent(t, [1]);
    ticks(t, 100, 2);
    assert.equal(published.length, 1);
    ticks(t, 100, 9); // 900 ms after the tick
    assert.equal(published.length, 1, 'still waiting for it');
    ticks(t, 100, 1); // a second after: it was lost, send again
    assert.equal(published.length, 2);
    assert.deepEqual(published.map((tick) => tick.at), [200, 1200]);
    ticker.stop();
  });

  test('once the tick arrives the shard is level with the furthest event and nothing more is sent', (t) => {
    const { frontier, published, ticker } = tickerAfterEvent(t, [1]);
    ticks(t, 100, 2);
    assert.equal(published.length, 1);
    frontier.advance(1, 53, false); // the tick applied: at or above 50, in shard 1's residue
    assert.equal(frontier.current, 50);
    ticks(t, 100, 30);
    assert.equal(published.length, 1);
    ticker.stop();
  });

  test('a shard this node does not own is ticked only after the takeover time (its owner is gone)', (t) => {
    const { frontier, published, ticker } = tickerAfterEvent(t, [0]);
    ticks(t, 100, 1); // shard 1 seen still from 100
    ticks(t, 100, 9); // idle 900 ms
    assert.equal(published.length, 0);
    ticks(t, 100, 1); // idle 1000 ms
    assert.deepEqual(published.map((tick) => [tick.subject, tick.at]), [['agg.1', 1100]]);
    ticker.stop();
  });

  test('a shard whose clock keeps moving needs no tick, and nothing is sent when no shard is behind an event', (t) => {
    const { frontier, published, ticker } = tickerAfterEvent(t, [0, 1, 2], { shards: 3, eventAt: 1000 });
    for (let step = 1; step <= 10; step++) {
      frontier.advance(1, step, true); // shard 1's own traffic: its clock moves every interval
      frontier.advance(2, 1000 + step, false); // shard 2 is past the furthest event
      ticks(t, 100, 1);
    }
    assert.deepEqual(published, []);
    ticker.stop();
  });

  test('a failed publish is swallowed, and after stop nothing is sent', async (t) => {
    const { frontier, published, ticker } = tickerAfterEvent(t, [1], { publish: () => Promise.reject(new Error('no responders')) });
    ticks(t, 100, 2);
    assert.equal(published.length, 1);
    await new Promise((resolve) => setImmediate(resolve)); // an unhandled rejection would fail the test here
    ticker.stop();
    ticks(t, 100, 30);
    assert.equal(published.length, 1);
  });
});
