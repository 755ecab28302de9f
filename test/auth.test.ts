import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { event, startServer, type TestServer } from './helper.js';

describe('bearer tokens', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ shards: 1, args: ['--publish-token', 'pub-secret', '--read-token', 'read-secret'] });
  });

  const call = (path: string, token: string | null, method = 'GET') =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), 'content-type': 'application/json' },
      ...(method === 'POST' ? { body: JSON.stringify(event({ event_id: `auth-${Math.random()}` })) } : {}),
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

  test('a refused publish stored nothing', async () => {
    const stats = (await (await call('/stats', 'read-secret')).json()) as { received: number };
    assert.equal(stats.received, 1, 'only the one publish with the right token');
  });
});

describe('without tokens', () => {
  test('everything is open', async () => {
    const server = await startServer({ shards: 1 });
    assert.equal((await fetch(`${server.url}/stats`)).status, 200);
    assert.equal((await fetch(`${server.url}/events`, { headers: { authorization: 'Bearer anything' } })).status, 200);
  });
});
