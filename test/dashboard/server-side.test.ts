import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DashboardAssets } from '../../src/dashboard/assets.js';
import { acceptsHtml } from '../../src/dashboard/negotiate.js';
import { renderPage } from '../../src/dashboard/pages.js';
import { getJson, startServer } from '../helper.js';

describe('dashboard, server side', () => {
  test('only an explicit text/html with a non-zero quality gets the page', () => {
    assert.equal(acceptsHtml('text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'), true);
    assert.equal(acceptsHtml('TEXT/HTML'), true);
    assert.equal(acceptsHtml('application/json, text/html;q=0.5'), true);
    assert.equal(acceptsHtml('text/html;q=0'), false);
    assert.equal(acceptsHtml('*/*'), false);
    assert.equal(acceptsHtml('application/json'), false);
    assert.equal(acceptsHtml(''), false);
  });

  test('assets get content-hashed URLs; only JS and CSS are served', () => {
    const assets = new DashboardAssets(new Map([['app.js', 'console.log(1)'], ['app.css', 'body{}'], ['app.js.map', '{}']]));
    const script = assets.get('app.js')!;
    assert.match(script.url, /^\/dashboard\/app\.[0-9a-f]{12}\.js$/);
    assert.equal(script.contentType, 'text/javascript; charset=utf-8');
    assert.equal(assets.byUrl(script.url), script);
    assert.notEqual(new DashboardAssets(new Map([['app.js', 'console.log(2)']])).get('app.js')!.url, script.url, 'new content, new URL');
    assert.equal(assets.get('app.js.map'), null);
    assert.equal(assets.byUrl('/dashboard/app.js'), null);
  });

  test('the page names the hashed assets; without a build it says how to make one', () => {
    const assets = new DashboardAssets(new Map([['app.js', 'x'], ['app.css', 'y']]));
    const page = renderPage('app', assets, 'svc <b>');
    assert.equal(page.status, 200);
    assert.ok(page.html.includes(`<script type="module" src="${assets.get('app.js')!.url}"></script>`));
    assert.ok(page.html.includes(`<link rel="stylesheet" href="${assets.get('app.css')!.url}">`));
    assert.ok(page.html.includes('svc &#60;b&#62;'), 'the name is escaped');
    assert.equal(page.headers['Cache-Control'], 'no-cache');
    const unbuilt = renderPage('docs', DashboardAssets.load('/nonexistent/dashboard'), 'svc');
    assert.equal(unbuilt.status, 503);
    assert.match(unbuilt.html, /npm run build/);
  });

  test('GET / lists the route table, and the OpenAPI document describes the same API routes', async () => {
    const server = await startServer();
    const info = (await getJson(`${server.url}/`)).body as { routes: { method: string; path: string; summary: string }[] };
    const routes = info.routes.map((route) => `${route.method} ${route.path}`);
    assert.deepEqual([...routes].sort(), ['GET /', 'GET /docs', 'GET /events', 'GET /health', 'GET /metrics', 'GET /openapi.json', 'GET /stats', 'GET /tail', 'POST /publish']);
    assert.ok(info.routes.every((route) => route.summary.length > 0));
    const document = (await getJson(`${server.url}/openapi.json`)).body as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`));
    assert.deepEqual(documented.sort(), ['GET /events', 'GET /health', 'GET /metrics', 'GET /stats', 'GET /tail', 'POST /publish']);
    await server.stop();
  });
});
