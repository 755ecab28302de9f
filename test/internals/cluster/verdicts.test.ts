import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AggregatorError } from '../../../src/errors.js';
import { VerdictBoard, type AppliedMessage } from '../../../src/cluster/verdicts.js';

const outcome: AppliedMessage = { inserted: 2, statuses: Uint8Array.from([1, 0, 1]) };

/** The promise's state once every queued reaction ran. */
async function stateOf(promise: Promise<unknown>): Promise<'pending' | 'resolved' | 'rejected'> {
  let state: 'pending' | 'resolved' | 'rejected' = 'pending';
  promise.then(
    () => (state = 'resolved'),
    () => (state = 'rejected'),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return state;
}

const overloaded = (error: unknown): boolean => error instanceof AggregatorError && error.code === 'overloaded' && error.status === 503;

describe('VerdictBoard', () => {
  test('a waiter gets the outcome its message was applied with; other messages and repeats do not touch it', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const board = new VerdictBoard();
    const first = board.expect('node-a:1', 1000);
    const second = board.expect('node-a:2', 1000);
    assert.equal(board.size, 2);
    board.applied('node-b:1', { inserted: 9, statuses: new Uint8Array() }); // another node's message: nobody here waits
    board.applied('node-a:1', outcome);
    assert.equal(board.size, 1);
    assert.equal(await first, outcome);
    board.applied('node-a:1', { inserted: 0, statuses: new Uint8Array() }); // a replayed apply
    assert.equal(await stateOf(second), 'pending');
    t.mock.timers.tick(1000);
    await assert.rejects(second, overloaded);
  });

  test('past its timeout a waiter is rejected with overloaded and removed; an apply after that is ignored', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const board = new VerdictBoard();
    const waiting = board.expect('m', 500);
    t.mock.timers.tick(499);
    assert.equal(await stateOf(waiting), 'pending');
    t.mock.timers.tick(1);
    await assert.rejects(waiting, overloaded);
    assert.equal(board.size, 0);
    board.applied('m', outcome);
  });

  test('an applied message\'s timer is cleared: it never rejects later', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const board = new VerdictBoard();
    const waiting = board.expect('m', 500);
    board.applied('m', outcome);
    t.mock.timers.tick(10_000);
    assert.equal(await stateOf(waiting), 'resolved');
  });

  test('a forgotten message is no longer waited for: neither its apply nor its timeout settles anything', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const board = new VerdictBoard();
    const waiting = board.expect('m', 500);
    board.forget('m');
    assert.equal(board.size, 0);
    board.applied('m', outcome);
    t.mock.timers.tick(10_000);
    assert.equal(await stateOf(waiting), 'pending');
    board.forget('unknown'); // harmless
  });

  test('failAll rejects every waiter with overloaded and leaves the board empty', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const board = new VerdictBoard();
    const waiters = [board.expect('a', 1000), board.expect('b', 1000), board.expect('c', 1000)];
    board.failAll('the node is stopping');
    assert.equal(board.size, 0);
    await Promise.all(waiters.map((waiting) => assert.rejects(waiting, overloaded)));
    const later = board.expect('d', 1000);
    assert.equal(board.size, 1, 'the board still takes new waiters');
    board.applied('d', outcome);
    assert.equal(await later, outcome);
  });
});
