import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readPublishAnswer } from '../../../src/client/answer.js';

const answer = (status: number, body: unknown) => ({ status, text: typeof body === 'string' ? body : JSON.stringify(body), latencyMs: 1 });
const verdict = (event_id: string, status: 'stored' | 'duplicate') => ({ topic: 't', event_id, status });

describe('reading the answer to POST /publish?results=1', () => {
  test('200: one verdict per event, in request order', () => {
    const outcome = readPublishAnswer(answer(200, { accepted: 2, unique: 1, duplicates: 1, results: [verdict('a', 'stored'), verdict('a', 'duplicate')] }), 2);
    assert.deepEqual(outcome, { kind: 'verdicts', verdicts: [verdict('a', 'stored'), verdict('a', 'duplicate')] });
  });

  test('a 200 that does not match the request is a bad reply, never a guess', () => {
    const bodies = [
      { accepted: 2, unique: 2, duplicates: 0 },
      { accepted: 2, unique: 2, duplicates: 0, results: [verdict('a', 'stored')] },
      { accepted: 1, unique: 1, duplicates: 0, results: [verdict('a', 'stored'), verdict('b', 'stored')] },
      { accepted: 2, unique: 2, duplicates: 0, results: [verdict('a', 'stored'), { ...verdict('b', 'stored'), status: 'kept' }] },
      'not json',
    ];
    for (const body of bodies) {
      const outcome = readPublishAnswer(answer(200, body), 2);
      assert.equal(outcome.kind, 'failed', JSON.stringify(body));
      assert.equal(outcome.kind === 'failed' && outcome.error.code, 'bad_reply');
    }
  });

  test('422 invalid_event: the problems grouped by event index; indexes outside the request ignored', () => {
    const details = [
      { index: 1, path: '/timestamp', message: 'must be an RFC 3339 date-time' },
      { index: 1, path: '/source', message: 'too short' },
      { index: 3, path: '', message: 'event is 70000 bytes as JSON' },
      { index: 9, path: '/x', message: 'not ours' },
    ];
    const outcome = readPublishAnswer(answer(422, { error: { code: 'invalid_event', message: 'bad', details } }), 4);
    assert.equal(outcome.kind, 'invalid');
    assert.deepEqual(outcome.kind === 'invalid' && [...outcome.problems], [
      [1, [{ path: '/timestamp', message: 'must be an RFC 3339 date-time' }, { path: '/source', message: 'too short' }]],
      [3, [{ path: '', message: 'event is 70000 bytes as JSON' }]],
    ]);
  });

  test('422 naming no event fails them all as invalid_event', () => {
    const outcome = readPublishAnswer(answer(422, { error: { code: 'invalid_event', message: 'empty batch', details: [] } }), 2);
    assert.equal(outcome.kind === 'failed' && outcome.error.code, 'invalid_event');
  });

  test('413 for several events: split; for one, or any other refusal: failed with status and server code', () => {
    const tooLarge = { error: { code: 'too_large', message: 'over the limit' } };
    assert.deepEqual(readPublishAnswer(answer(413, tooLarge), 2), { kind: 'split' });
    for (const [status, body, serverCode] of [
      [413, tooLarge, 'too_large'],
      [401, { error: { code: 'unauthorized', message: 'no token' } }, 'unauthorized'],
      [500, '<html>oops</html>', null],
    ] as const) {
      const outcome = readPublishAnswer(answer(status, body), 1);
      assert.equal(outcome.kind, 'failed');
      if (outcome.kind !== 'failed') continue;
      assert.equal(outcome.error.code, 'refused');
      assert.equal(outcome.error.status, status);
      assert.equal(outcome.error.serverCode, serverCode);
      assert.match(outcome.error.message, new RegExp(`answered ${status} `));
    }
  });
});
