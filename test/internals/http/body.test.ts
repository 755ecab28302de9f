import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BodyBudget, readBody, type BodyOutcome } from '../../../src/http/body.js';
import { FakeResponse } from './fake-uws.js';

const limits = { maxBodyBytes: 10, discardBytes: 20 };

/** Starts reading a body; the outcomes `done` was given are collected. */
function reading(contentLength: number | null, budget: BodyBudget | null = null, bodyLimits = limits): { res: FakeResponse; outcomes: BodyOutcome[]; cancel: () => void } {
  const res = new FakeResponse();
  const outcomes: BodyOutcome[] = [];
  const cancel = readBody(res.uws, contentLength, bodyLimits, budget, (outcome) => outcomes.push(outcome));
  return { res, outcomes, cancel };
}

function text(outcome: BodyOutcome | undefined): string {
  assert.equal(outcome?.kind, 'complete');
  return (outcome as { body: Buffer }).body.toString('latin1');
}

describe('BodyBudget', () => {
  test('reserves up to its maximum, refuses past it, and a release makes room again', () => {
    const budget = new BodyBudget(10);
    assert.equal(budget.reserve(6), true);
    assert.equal(budget.reserve(5), false, '11 > 10');
    assert.equal(budget.used, 6, 'a refused reservation takes nothing');
    assert.equal(budget.reserve(4), true, 'exactly the maximum fits');
    assert.equal(budget.reserve(1), false);
    budget.release(6);
    assert.equal(budget.used, 4);
    assert.equal(budget.reserve(6), true);
  });
});

describe('readBody', () => {
  test('joins the chunks, copying each one out of the buffer uWS lends, and answers once at the last chunk', () => {
    const { res, outcomes } = reading(9);
    res.deliver('abc', false);
    res.deliver('def', false);
    assert.deepEqual(outcomes, [], 'nothing before the last chunk');
    res.deliver('ghi', true);
    assert.equal(outcomes.length, 1);
    assert.equal(text(outcomes[0]), 'abcdefghi', 'the lent buffers were overwritten after each call: the chunks were copied');
  });

  test('a body of one chunk and an empty body are complete too', () => {
    const one = reading(null);
    one.res.deliver('0123456789', true);
    assert.equal(text(one.outcomes[0]), '0123456789', 'exactly the limit is not too large');
    const empty = reading(0);
    empty.res.deliver('', true);
    assert.equal(text(empty.outcomes[0]), '');
  });

  test('reserves bytes from the budget as they arrive, and gives them back once the body is handed over', () => {
    const budget = new BodyBudget(100);
    const { res, outcomes } = reading(8, budget);
    assert.equal(budget.used, 0, 'nothing is reserved for a declared length before its bytes come');
    res.deliver('abc', false);
    assert.equal(budget.used, 3);
    res.deliver('defgh', true);
    assert.equal(text(outcomes[0]), 'abcdefgh');
    assert.equal(budget.used, 0);
  });

  test('a declared Content-Length over the limit is too_large: the bytes are counted, never buffered', () => {
    const budget = new BodyBudget(100);
    const { res, outcomes } = reading(15, budget);
    res.deliver('0123456789', false);
    assert.equal(budget.used, 0);
    res.deliver('01234', true);
    assert.deepEqual(outcomes, [{ kind: 'too_large', bytes: 15 }]);
  });

  test('a body that grows past the limit without a Content-Length is too_large, and what it had reserved is released at once', () => {
    const budget = new BodyBudget(100);
    const { res, outcomes } = reading(null, budget);
    res.deliver('012345678', false);
    assert.equal(budget.used, 9);
    res.deliver('9a', false);
    assert.equal(budget.used, 0, 'released as soon as it is known too large, not at the end');
    assert.deepEqual(outcomes, []);
    res.deliver('b', true);
    assert.deepEqual(outcomes, [{ kind: 'too_large', bytes: 12 }]);
  });

  test('more bytes than the Content-Length announced is too_large', () => {
    const { res, outcomes } = reading(3);
    res.deliver('abcd', true);
    assert.deepEqual(outcomes, [{ kind: 'too_large', bytes: 4 }]);
  });

  test('a body the shared budget cannot hold is over_budget, and its reservation goes back', () => {
    const budget = new BodyBudget(5);
    assert.equal(budget.reserve(2), true); // another request's bytes
    const { res, outcomes } = reading(null, budget);
    res.deliver('ab', false);
    assert.equal(budget.used, 4);
    res.deliver('cd', false);
    assert.equal(budget.used, 2, 'only the other request holds bytes now');
    res.deliver('ef', true);
    assert.deepEqual(outcomes, [{ kind: 'over_budget' }]);
    assert.equal(budget.used, 2);
  });

  test('past the limit plus discardBytes it gives up at once, and nothing that arrives later is reported', () => {
    const { res, outcomes } = reading(1000);
    res.deliver('x'.repeat(30), false); // 30 - 10 = 20: not past the discard allowance yet
    assert.deepEqual(outcomes, []);
    res.deliver('x', false);
    assert.deepEqual(outcomes, [{ kind: 'give_up', bytes: 31 }], 'without waiting for the last chunk');
    res.deliver('x', true);
    assert.equal(outcomes.length, 1);
  });

  test('once aborted, done never runs and the reservation is given back', () => {
    const budget = new BodyBudget(100);
    const { res, outcomes, cancel } = reading(null, budget);
    res.deliver('abcd', false);
    assert.equal(budget.used, 4);
    cancel();
    assert.equal(budget.used, 0);
    res.deliver('ef', true);
    assert.deepEqual(outcomes, []);
    assert.equal(budget.used, 0, 'a chunk after the abort reserves nothing');
  });
});
