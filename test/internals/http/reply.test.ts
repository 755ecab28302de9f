import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AggregatorError, MethodNotAllowedError, OverloadedError, UnauthorizedError } from '../../../src/errors.js';
import { Reply, type ReplySettings } from '../../../src/http/reply.js';
import { FakeResponse } from './fake-uws.js';

interface Answered {
  readonly route: string;
  readonly status: number;
  readonly seconds: number;
}

function replying(routeHeaders?: Readonly<Record<string, string>>, settings: Partial<ReplySettings> = {}): { res: FakeResponse; reply: Reply; answers: Answered[] } {
  const res = new FakeResponse();
  const answers: Answered[] = [];
  const reply = new Reply(res.uws, '/publish', { retryAfterSeconds: 7, onAnswer: (route, status, seconds) => answers.push({ route, status, seconds }), ...settings }, routeHeaders);
  return { res, reply, answers };
}

describe('Reply', () => {
  test('writes the status line, the content type, the route headers, then its own, and the body, all corked', () => {
    const { res, reply, answers } = replying({ 'x-elastic-product': 'Elasticsearch' });
    assert.equal(reply.done, false);
    reply.send(200, '{"ok":true}', { headers: { 'X-One': '1' } });
    assert.equal(res.status, '200 OK');
    assert.deepEqual(res.headers, [
      ['Content-Type', 'application/json'],
      ['x-elastic-product', 'Elasticsearch'],
      ['X-One', '1'],
    ]);
    assert.equal(res.body, '{"ok":true}');
    assert.equal(res.closeConnection, false);
    assert.equal(res.uncorkedWrites, 0);
    assert.equal(reply.done, true);
    assert.equal(answers.length, 1);
    assert.equal(answers[0]!.route, '/publish');
    assert.equal(answers[0]!.status, 200);
    assert.ok(answers[0]!.seconds >= 0 && answers[0]!.seconds < 60, `${answers[0]!.seconds} s`);
  });

  test('a content type of its own, bytes, and closing the connection', () => {
    const { res, reply } = replying();
    reply.send(413, new TextEncoder().encode('big'), { contentType: 'text/plain', close: true });
    assert.equal(res.status, '413 Payload Too Large');
    assert.equal(res.header('Content-Type'), 'text/plain');
    assert.equal(res.body, 'big');
    assert.equal(res.closeConnection, true);
  });

  test('a 204 carries no Content-Type, and a status missing from the table still gets a status line', () => {
    const first = replying();
    first.reply.send(204, '');
    assert.equal(first.res.status, '204 No Content');
    assert.equal(first.res.header('Content-Type'), undefined);
    const second = replying();
    second.reply.send(418, '');
    assert.equal(second.res.status, '418 Unknown');
  });

  test('answers at most once: a second send writes nothing and is not counted', () => {
    const { res, reply, answers } = replying();
    reply.send(200, 'first');
    reply.send(500, 'second');
    reply.error(new OverloadedError('late'));
    reply.upgraded();
    assert.equal(res.ends, 1);
    assert.equal(res.body, 'first');
    assert.deepEqual(answers.map((answer) => answer.status), [200]);
  });

  test('after the client went away nothing is written, the abort listener runs, and no answer is counted', () => {
    const { res, reply, answers } = replying();
    let aborted = 0;
    reply.onAbort(() => aborted++);
    res.abort();
    assert.equal(aborted, 1);
    assert.equal(reply.done, true);
    reply.send(200, 'too late');
    assert.equal(res.ends, 0);
    assert.deepEqual(answers, []);
  });

  test('an upgrade is an answer: counted as 101, and nothing is written after it', () => {
    const { res, reply, answers } = replying();
    reply.upgraded();
    assert.equal(reply.done, true);
    reply.send(200, 'x');
    assert.equal(res.ends, 0);
    assert.deepEqual(answers.map((answer) => answer.status), [101]);
  });

  test('error() answers with the code\'s status and the {"error": {...}} body', () => {
    const { res, reply, answers } = replying();
    reply.error(new AggregatorError('invalid_query', 'bad limit'));
    assert.equal(res.status, '400 Bad Request');
    assert.deepEqual(res.json(), { error: { code: 'invalid_query', message: 'bad limit' } });
    assert.equal(res.header('Retry-After'), undefined);
    assert.deepEqual(answers.map((answer) => answer.status), [400]);
  });

  test('a 503 carries Retry-After from the settings; an error\'s own headers and the caller\'s are kept', () => {
    const overloaded = replying();
    overloaded.reply.error(new AggregatorError('disk_full'), { headers: { 'X-Extra': 'yes' } });
    assert.equal(overloaded.res.status, '503 Service Unavailable');
    assert.equal(overloaded.res.header('Retry-After'), '7');
    assert.equal(overloaded.res.header('X-Extra'), 'yes');
    assert.equal((overloaded.res.json() as { error: { code: string } }).error.code, 'disk_full');

    const method = replying();
    method.reply.error(new MethodNotAllowedError('put', '/publish', 'POST'));
    assert.equal(method.res.status, '405 Method Not Allowed');
    assert.equal(method.res.header('Allow'), 'POST');

    const unauthorized = replying();
    unauthorized.reply.error(new UnauthorizedError('token'), { close: true });
    assert.equal(unauthorized.res.status, '401 Unauthorized');
    assert.equal(unauthorized.res.header('WWW-Authenticate'), 'Bearer realm="aggregator"');
    assert.equal(unauthorized.res.closeConnection, true);
  });

  test('anything thrown that is not from the catalogue is a 500 internal, never a 503 with Retry-After', () => {
    const { res, reply } = replying();
    reply.error(new TypeError('x is undefined'));
    assert.equal(res.status, '500 Internal Server Error');
    assert.equal((res.json() as { error: { code: string } }).error.code, 'internal');
    assert.equal(res.header('Retry-After'), undefined);
  });

  test('works without an onAnswer callback', () => {
    const res = new FakeResponse();
    const reply = new Reply(res.uws, '/x', { retryAfterSeconds: 1 });
    reply.send(200, 'ok');
    assert.equal(res.body, 'ok');
  });
});
