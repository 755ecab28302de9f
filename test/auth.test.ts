import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { event, startServer, type TestServer } from './helper.js';

describe('bearer tokens', () => {
  // One server for the describe; each test publishes only what it checks, under its own ids.
  let server: TestServer;
  let published = 0;
  before(async () => {
    server = await startServer({ shards: 1, args: ['--publish-token', 'pub-secret', '--read-token', 'read-secret'] });
  });

  const call = (path: string, token: string | null, method = 'GET', topic = 'auth.prod') =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), 'content-type': 'application/json' },
      ...(method === 'POST' ? { body: JSON.stringify(event({ topic, event_id: `auth-${++published}` })) } : {}),
    });

  test('publishing needs the publish token: 401 without or unknown, 403 with the read token', async () => {
    const missing = await call('/publish', null, 'POST');
    assert.equal(missing.status, 401);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'unauthorized');
    assert.match(missing.headers.get('www-authenticate')!, /^Bearer/);
    assert.equal((await call('/publish', 'nope', 'POST')).status, 401);
    const wrongScope = await call('/publish', 'read-secret', 'POST');
    assert.equal(wrongScope.status, 403);
    assert.equal(((await wrongScope.json()) as { error: { code: string } }).error.code, 'forbidden');
    assert.equal((await call('/publish', 'pub-secret', 'POST')).status, 200);
  });

  test('every read route needs the read token; /health and /openapi.json stay open', async () => {
    for (const path of ['/events', '/stats', '/metrics']) {
      assert.equal((await call(path, null)).status, 401, path);
      assert.equal((await call(path, 'pub-secret')).status, 403, path);
      assert.equal((await call(path, 'read-secret')).status, 200, path);
    }
    assert.equal((await call('/health', null)).status, 200);
    assert.equal((await call('/openapi.json', null)).status, 200);
  });

  test('a refused publish stores nothing; only the one with the publish token is stored', async () => {
    const topic = 'auth.refused';
    const refused = [await call('/publish', null, 'POST', topic), await call('/publish', 'nope', 'POST', topic), await call('/publish', 'read-secret', 'POST', topic)];
    assert.deepEqual(refused.map((reply) => reply.status), [401, 401, 403]);
    assert.equal((await call('/publish', 'pub-secret', 'POST', topic)).status, 200);
    const stored = (await (await call(`/events?topic=${topic}`, 'read-secret')).json()) as { count: number };
    assert.equal(stored.count, 1, 'only the publish with the right token');
  });
});

describe('without tokens', () => {
  test('everything is open', async () => {
    const server = await startServer({ shards: 1 });
    assert.equal((await fetch(`${server.url}/stats`)).status, 200);
    assert.equal((await fetch(`${server.url}/events`, { headers: { authorization: 'Bearer anything' } })).status, 200);
  });
});
