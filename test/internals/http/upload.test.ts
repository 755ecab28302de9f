import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { describe, test } from 'node:test';
import { AggregatorError } from '../../../src/errors.js';
import { Reply } from '../../../src/http/reply.js';
import { Uploads, type Answer, type UploadOptions, type UploadRequest } from '../../../src/http/upload.js';
import { drained, FakeRequest, FakeResponse, type FakeRequestInit } from './fake-uws.js';

const options: UploadOptions = { maxBodyBytes: 1000, discardBytes: 100, maxBufferedBodyBytes: 1000 };

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((yes, no) => ((resolve = yes), (reject = no)));
  return { promise, resolve, reject };
}

/** A route whose handler records each request and answers when the test says. */
class Route {
  readonly requests: UploadRequest[] = [];
  readonly answers: Deferred<Answer>[] = [];
  readonly #calls: Deferred<void>[] = [deferred<void>()];
  readonly handler = (request: UploadRequest): Promise<Answer> => {
    this.requests.push(request);
    const answer = deferred<Answer>();
    this.answers.push(answer);
    this.#calls[this.requests.length - 1]!.resolve();
    this.#calls.push(deferred<void>());
    return answer.promise;
  };

  /** Resolves once the handler was called `count` times. */
  called(count: number): Promise<void> {
    while (this.#calls.length < count) this.#calls.push(deferred<void>());
    return this.#calls[count - 1]!.promise;
  }
}

/** One request through `uploads`: the uWS handler runs as the route table would run it. */
function request(uploads: Uploads, route: Route, init: FakeRequestInit, parameters = 0): { res: FakeResponse; reply: Reply } {
  const res = new FakeResponse();
  const reply = new Reply(res.uws, '/publish', { retryAfterSeconds: 3 });
  uploads.route(route.handler, parameters)(res.uws, new FakeRequest(init).uws, reply);
  return { res, reply };
}

function errorCode(res: FakeResponse): string {
  return (res.json() as { error: { code: string } }).error.code;
}

/** Resolves once the handler was called `count` times (the body may be inflated on the thread pool first); fails if `res` is answered first. */
async function handled(route: Route, count: number, res: FakeResponse): Promise<void> {
  const first = await Promise.race([route.called(count).then(() => 'handled'), res.answered.then(() => 'answered')]);
  if (first !== 'handled') assert.fail(`answered ${res.status} ${res.body} before the handler ran`);
}

describe('Uploads', () => {
  test('hands the whole body, the content type, the query and the route parameters to the handler, and writes its answer', async () => {
    const uploads = new Uploads(options);
    const route = new Route();
    const { res } = request(uploads, route, { headers: [['content-type', 'application/x-ndjson'], ['content-length', '6']], query: 'a=1&b=two', parameters: ['logs', 'extra'] }, 1);
    assert.equal(uploads.inFlight, 1, 'counted while the body is read');
    res.deliver('abc', false);
    res.deliver('def', true);
    await handled(route, 1, res);
    const received = route.requests[0]!;
    assert.equal(received.body.toString(), 'abcdef');
    assert.equal(received.contentType, 'application/x-ndjson');
    assert.equal(received.query.get('b'), 'two');
    assert.deepEqual(received.parameters, ['logs'], 'only as many parameters as the route names');
    assert.equal(uploads.inFlight, 1, 'and while the handler runs');
    route.answers[0]!.resolve({ status: 200, body: 'done', contentType: 'text/plain', headers: { 'X-Seq': '9' } });
    await res.answered;
    await drained();
    assert.equal(res.status, '200 OK');
    assert.equal(res.body, 'done');
    assert.equal(res.header('Content-Type'), 'text/plain');
    assert.equal(res.header('X-Seq'), '9');
    assert.equal(uploads.inFlight, 0);
  });

  test('two different Content-Length headers are refused with 400 and a closed connection, before any byte is read', () => {
    const uploads = new Uploads(options);
    const route = new Route();
    const { res } = request(uploads, route, { headers: [['content-length', '5'], ['content-length', '50']] });
    assert.equal(res.status, '400 Bad Request');
    assert.equal(errorCode(res), 'bad_request');
    assert.equal(res.closeConnection, true);
    assert.equal(res.hasDataHandler, false);
    assert.equal(uploads.inFlight, 0);
    assert.deepEqual(route.requests, []);
  });

  test('the same Content-Length twice (spaces aside) is no conflict', async () => {
    const uploads = new Uploads(options);
    const route = new Route();
    const { res } = request(uploads, route, { headers: [['content-length', '2'], ['content-length', ' 2 ']] });
    res.deliver('ok', true);
    await handled(route, 1, res);
    assert.equal(route.requests[0]!.body.toString(), 'ok');
  });

  test('a gzip body reaches the handler inflated', async () => {
    const uploads = new Uploads(options);
    const route = new Route();
    const plain = 'x'.repeat(900);
    const { res } = request(uploads, route, { headers: [['content-encoding', 'gzip']] });
    res.deliver(gzipSync(plain), true);
    await handled(route, 1, res);
    assert.equal(route.requests[0]!.body.toString(), plain);
  });

  test('an unknown Content-Encoding is a 415 and a broken gzip body a 400, and neither reaches the handler', async () => {
    const uploads = new Uploads(options);
    const route = new Route();
    const br = request(uploads, route, { headers: [['content-encoding', 'br']] });
    br.res.deliver('abc', true);
    assert.equal(br.res.status, '415 Unsupported Media Type', 'answered at once');
    assert.equal(errorCode(br.res), 'unsupported_media_type');
    const broken = request(uploads, route, { headers: [['content-encoding', 'gzip']] });
    broken.res.deliver('not gzip', true);
    await broken.res.answered;
    assert.equal(errorCode(broken.res), 'bad_encoding');
    await drained();
    assert.deepEqual(route.requests, []);
    assert.equal(uploads.inFlight, 0);
  });

  test('a body over the limit is a 413 on an open connection; one that keeps coming is a 413 that closes it', () => {
    const uploads = new Uploads(options);
    const route = new Route();
    const over = request(uploads, route, { headers: [['content-length', '1001']] });
    over.res.deliver('x'.repeat(1001), true);
    assert.equal(errorCode(over.res), 'too_large');
    assert.equal(over.res.status, '413 Payload Too Large');
    assert.equal(over.res.closeConnection, false);
    const flood = request(uploads, route, {});
    flood.res.deliver('x'.repeat(1101), false);
    assert.equal(errorCode(flood.res), 'too_large');
    assert.equal(flood.res.closeConnection, true);
    assert.equal(uploads.inFlight, 0);
    assert.deepEqual(route.requests, []);
  });

  test('bodies past the shared budget are a 503 overloaded with Retry-After', () => {
    const uploads = new Uploads({ ...options, maxBufferedBodyBytes: 10 });
    const route = new Route();
    const first = request(uploads, route, {});
    first.res.deliver('x'.repeat(8), false); // still streaming: holds 8 of 10
    const second = request(uploads, route, {});
    second.res.deliver('x'.repeat(3), true);
    assert.equal(second.res.status, '503 Service Unavailable');
    assert.equal(errorCode(second.res), 'overloaded');
    assert.equal(second.res.header('Retry-After'), '3');
    assert.equal(uploads.inFlight, 1, 'the first one is still being read');
  });

  test('a body that inflates to more than the budget holds is a 503, though within the body limit', async () => {
    const uploads = new Uploads({ ...options, maxBufferedBodyBytes: 500 });
    const route = new Route();
    const { res } = request(uploads, route, { headers: [['content-encoding', 'gzip']] });
    res.deliver(gzipSync('y'.repeat(800)), true);
    await res.answered;
    assert.equal(errorCode(res), 'overloaded');
    assert.deepEqual(route.requests, []);
  });

  test('inflated bytes are held from the same budget until the handler settles', async () => {
    const uploads = new Uploads({ ...options, maxBufferedBodyBytes: 1000 });
    const route = new Route();
    // Holds 800 of 1000 while its handler runs.
    const held = request(uploads, route, { headers: [['content-encoding', 'gzip']] });
    held.res.deliver(gzipSync('z'.repeat(800)), true);
    await handled(route, 1, held.res);
    const refused = request(uploads, route, {});
    refused.res.deliver('x'.repeat(300), true);
    assert.equal(errorCode(refused.res), 'overloaded');
    route.answers[0]!.resolve({ status: 200, body: '' });
    await held.res.answered;
    await drained();
    const admitted = request(uploads, route, {});
    admitted.res.deliver('x'.repeat(300), true);
    await handled(route, 2, admitted.res);
    assert.equal(route.requests[1]!.body.length, 300, 'the inflated bytes were given back');
  });

  test('a handler that fails is answered with its error\'s code', async () => {
    const uploads = new Uploads(options);
    const route = new Route();
    const { res } = request(uploads, route, {});
    res.deliver('{}', true);
    await handled(route, 1, res);
    route.answers[0]!.reject(new AggregatorError('invalid_event'));
    await res.answered;
    assert.equal(res.status, '422 Unprocessable Entity');
    assert.equal(errorCode(res), 'invalid_event');
    await drained();
    assert.equal(uploads.inFlight, 0);
  });

  test('a client gone while its body streams is no longer in flight, and its handler never runs', async () => {
    const uploads = new Uploads(options);
    const route = new Route();
    const { res } = request(uploads, route, {});
    res.deliver('abc', false);
    res.abort();
    assert.equal(uploads.inFlight, 0);
    res.deliver('def', true);
    await drained();
    assert.deepEqual(route.requests, []);
    assert.equal(res.ends, 0);
  });

  test('a client gone after its body arrived: the handler runs on and is in flight until it settles, and nothing is written', async () => {
    const uploads = new Uploads(options);
    const route = new Route();
    const { res } = request(uploads, route, {});
    res.deliver('abc', true);
    await handled(route, 1, res);
    res.abort();
    assert.equal(uploads.inFlight, 1);
    route.answers[0]!.resolve({ status: 200, body: '' });
    await drained();
    assert.equal(uploads.inFlight, 0);
    assert.equal(res.ends, 0);
  });
});
