/**
 * The route table as a client sees it: every path answers other methods with 405 and the exact
 * `Allow`, unknown paths 404, and /tail refuses an upgrade exactly as every other route refuses a
 * request (reason phrase, WWW-Authenticate, counted in /metrics).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { getJson, rawHttp, startServer, type TestServer } from './helper.js';

const upgradeHeaders = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

function upgrade(server: TestServer, query: string, headers = ''): ReturnType<typeof rawHttp> {
  return rawHttp(server.port, `GET /tail${query} HTTP/1.1\r\nHost: 127.0.0.1\r\n${upgradeHeaders}${headers}\r\n`);
}

function header(text: string, name: string): string | null {
  const match = new RegExp(`\\r\\n${name}: *([^\\r]*)`, 'i').exec(text);
  return match ? match[1]! : null;
}

describe('route table', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ args: ['--read-token', 'r-secret', '--publish-token', 'p-secret'] });
  });
  after(() => server.stop());

  test('every path of the table answers another method with 405 and its Allow; other paths 404', async () => {
    const cases: [method: string, path: string, allow: string][] = [
      ['POST', '/', 'GET'],
      ['DELETE', '/docs', 'GET'],
      ['PUT', '/openapi.json', 'GET'],
      ['GET', '/publish', 'POST'],
      ['POST', '/events', 'GET'],
      ['POST', '/tail', 'GET'],
      ['DELETE', '/stats', 'GET'],
      ['POST', '/health', 'GET'],
      ['POST', '/metrics', 'GET'],
      ['POST', '/dashboard/app.js', 'GET'],
      ['GET', '/es/_bulk', 'POST'],
      ['DELETE', '/es', 'GET, HEAD'],
    ];
    for (const [method, path, allow] of cases) {
      const answer = await fetch(`${server.url}${path}`, { method });
      assert.equal(answer.status, 405, `${method} ${path}`);
      assert.equal(answer.headers.get('allow'), allow, `${method} ${path}`);
      assert.equal(((await answer.json()) as { error: { code: string } }).error.code, 'method_not_allowed');
    }
    const missing = await fetch(`${server.url}/nope`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'not_found');
  });

  test('a /tail upgrade without a token is a 401 with its reason phrase and WWW-Authenticate', async () => {
    const answer = await upgrade(server, '');
    assert.match(answer.text, /^HTTP\/1\.1 401 Unauthorized\r\n/);
    assert.equal(header(answer.text, 'WWW-Authenticate'), 'Bearer realm="aggregator"');
    assert.match(answer.text, /"code":"unauthorized"/);
  });

  test('a /tail upgrade with the publish token is a 403; with a bad cursor a 400', async () => {
    const forbidden = await upgrade(server, '?access_token=p-secret');
    assert.match(forbidden.text, /^HTTP\/1\.1 403 Forbidden\r\n/);
    const badCursor = await upgrade(server, '?after=nonsense', 'Authorization: Bearer r-secret\r\n');
    assert.match(badCursor.text, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(badCursor.text, /"code":"invalid_query"/);
  });

  test('/tail refusals and upgrades are counted in /metrics under route="tail"', async () => {
    const metricsText = async (): Promise<string> => (await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer r-secret' } })).text();
    const count = (text: string, status: number): number => Number(new RegExp(`aggregator_http_requests_total\\{route="tail",status="${status}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
    const before = await metricsText();
    await upgrade(server, '');
    await upgrade(server, '?access_token=p-secret');
    const socket = new WebSocket(`ws://127.0.0.1:${server.port}/tail?access_token=r-secret`);
    await once(socket, 'open');
    socket.close();
    const afterwards = await metricsText();
    assert.equal(count(afterwards, 401) - count(before, 401), 1);
    assert.equal(count(afterwards, 403) - count(before, 403), 1);
    assert.equal(count(afterwards, 101) - count(before, 101), 1);
  });

  test('a plain GET /tail without the upgrade is a 400 that says so', async () => {
    const answer = await fetch(`${server.url}/tail`, { headers: { authorization: 'Bearer r-secret' } });
    assert.equal(answer.status, 400);
    assert.match(((await answer.json()) as { error: { message: string } }).error.message, /WebSocket/);
    assert.equal((await getJson(`${server.url}/health`)).status, 200);
  });

  test('GET / lists the route table, and the OpenAPI document describes the same API routes', async () => {
    const info = (await getJson(`${server.url}/`)).body as { routes: { method: string; path: string; summary: string }[] };
    const routes = info.routes.map((route) => `${route.method} ${route.path}`);
    assert.deepEqual([...routes].sort(), [
      'DELETE /groups/:name', 'GET /', 'GET /docs', 'GET /es', 'GET /es/_cat/health', 'GET /es/_cluster/health', 'GET /events', 'GET /groups', 'GET /groups/:name', 'GET /groups/:name/consume', 'GET /health', 'GET /metrics', 'GET /openapi.json', 'GET /search', 'GET /search/histogram', 'GET /search/top', 'GET /stats', 'GET /tail', 'GET /topics',
      'HEAD /es', 'HEAD /es/_cat/health', 'POST /admin/delete', 'POST /es/:index/_bulk', 'POST /es/_bulk',
      'POST /groups/:name/ack', 'POST /groups/:name/extend', 'POST /groups/:name/fetch', 'POST /groups/:name/nak', 'POST /groups/:name/term', 'POST /loki/api/v1/push', 'POST /publish', 'POST /v1/logs', 'PUT /groups/:name',
    ]);
    assert.ok(info.routes.every((route) => route.summary.length > 0));
    const document = (await getJson(`${server.url}/openapi.json`)).body as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`));
    assert.deepEqual(documented.sort(), ['DELETE /groups/{name}', 'GET /es', 'GET /es/_cat/health', 'GET /es/_cluster/health', 'GET /events', 'GET /groups', 'GET /groups/{name}', 'GET /groups/{name}/consume', 'GET /health', 'GET /metrics', 'GET /search', 'GET /search/histogram', 'GET /search/top', 'GET /stats', 'GET /tail', 'GET /topics', 'POST /admin/delete', 'POST /es/_bulk', 'POST /es/{index}/_bulk', 'POST /groups/{name}/ack', 'POST /groups/{name}/extend', 'POST /groups/{name}/fetch', 'POST /groups/{name}/nak', 'POST /groups/{name}/term', 'POST /loki/api/v1/push', 'POST /publish', 'POST /v1/logs', 'PUT /groups/{name}']);
  });
});
