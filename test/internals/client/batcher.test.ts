import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { EventBatcher, type BatchLimits } from '../../../src/client/batcher.js';

interface Piece {
  readonly id: number;
  readonly bytes: number;
}

function batcher(limits: Partial<BatchLimits>): { batcher: EventBatcher<Piece>; batches: number[][] } {
  const batches: number[][] = [];
  const instance = new EventBatcher<Piece>({ maxEvents: 1000, maxBytes: 1_000_000, lingerMs: 50, ...limits }, (items) => batches.push(items.map((item) => item.id)));
  return { batcher: instance, batches };
}

const piece = (id: number, bytes = 10): Piece => ({ id, bytes });

describe('EventBatcher', () => {
  // Fake timers: the linger is checked to the millisecond without waiting for it.
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  test('a batch leaves as soon as it holds maxEvents', () => {
    const { batcher: b, batches } = batcher({ maxEvents: 3 });
    for (let id = 0; id < 7; id++) b.add(piece(id));
    assert.deepEqual(batches, [[0, 1, 2], [3, 4, 5]]);
    assert.equal(b.size, 1);
  });

  test('the body of a batch (a JSON array) never goes over maxBytes, counted exactly', () => {
    // [a,b,c] with items of 10 bytes: 2 + 30 + 2 commas = 34 bytes.
    const { batcher: b, batches } = batcher({ maxBytes: 34 });
    for (let id = 0; id < 7; id++) b.add(piece(id));
    assert.deepEqual(batches, [[0, 1, 2], [3, 4, 5]], 'three fit exactly, and a full batch leaves at once');
    const { batcher: b2, batches: batches2 } = batcher({ maxBytes: 33 });
    for (let id = 0; id < 4; id++) b2.add(piece(id));
    assert.deepEqual(batches2, [[0, 1]], 'one byte less: only two fit, the third starts the next batch');
  });

  test('an event bigger than maxBytes goes alone rather than never', () => {
    const { batcher: b, batches } = batcher({ maxBytes: 100 });
    b.add(piece(0));
    b.add(piece(1, 500));
    b.add(piece(2));
    assert.deepEqual(batches, [[0], [1]]);
  });

  test('lingerMs after its first event, a batch leaves however small', () => {
    const { batcher: b, batches } = batcher({ lingerMs: 50 });
    b.add(piece(0));
    mock.timers.tick(30);
    b.add(piece(1));
    mock.timers.tick(19);
    assert.deepEqual(batches, [], 'not before the linger of the first event');
    mock.timers.tick(1);
    assert.deepEqual(batches, [[0, 1]]);
    b.add(piece(2));
    mock.timers.tick(50);
    assert.deepEqual(batches, [[0, 1], [2]], 'a lone event leaves too');
    mock.timers.tick(1000);
    assert.equal(batches.length, 2, 'no empty batch from a stale timer');
  });

  test('a batch that left full does not leave again when its linger would have run out', () => {
    const { batcher: b, batches } = batcher({ maxEvents: 2, lingerMs: 50 });
    b.add(piece(0));
    b.add(piece(1));
    b.add(piece(2));
    mock.timers.tick(50);
    assert.deepEqual(batches, [[0, 1], [2]], 'the second batch timed from its own first event');
  });

  test('cut() sends the open batch now; drop() forgets it', () => {
    const { batcher: b, batches } = batcher({});
    b.cut();
    assert.deepEqual(batches, [], 'nothing to send: no empty batch');
    b.add(piece(0));
    b.cut();
    assert.deepEqual(batches, [[0]]);
    b.add(piece(1));
    assert.deepEqual(b.drop().map((item) => item.id), [1]);
    mock.timers.tick(1000);
    assert.deepEqual(batches, [[0]], 'a dropped batch never leaves');
  });
});
