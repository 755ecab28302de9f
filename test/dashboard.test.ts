/**
 * GET /, /docs and the dashboard assets over HTTP against the built server: content negotiation,
 * caching headers, and that none of it needs the read token (the pages fetch data with it).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { event, getJson, pollUntil, publish, startServer } from './helper.js';
import { schemaValidator } from './support/openapi.js';

const browserAccept = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';
const packageVersion = (JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function assetUrls(html: string): string[] {
  return [...html.matchAll(/(?:src|href)="(\/dashboard\/[^"]+)"/g)].map((match) => match[1]!);
}

describe('GET / and the dashboard files', () => {
  test('JSON service info for API clients, the dashboard for browsers; pages and assets need no token', async () => {
    const server = await startServer({ shards: 2, args: ['--read-token', 'r'] });

    for (const accept of [null, 'application/json', '*/*', 'text/html;q=0']) {
      const response = await fetch(`${server.url}/`, { headers: accept === null ? {} : { accept } });
      assert.equal(response.status, 200, String(accept));
      assert.match(response.headers.get('content-type')!, /^application\/json/);
      assert.match(response.headers.get('vary')!, /Accept/);
      const info = (await response.json()) as Record<string, unknown>;
      assert.deepEqual(Object.keys(info), ['name', 'version', 'routes', 'shards', 'uptime']);
      assert.equal(info.name, 'exactly-once-aggregator');
      assert.equal(info.version, packageVersion);
      assert.equal(info.shards, 2);
      assert.ok(typeof info.uptime === 'number' && info.uptime >= 0);
      const routes = (info.routes as { method: string; path: string; summary: string }[]).map((route) => `${route.method} ${route.path}`);
      for (const route of ['GET /', 'GET /docs', 'POST /publish', 'GET /events', 'GET /tail', 'GET /stats', 'GET /health', 'GET /metrics', 'GET /openapi.json']) assert.ok(routes.includes(route), route);
    }
    const openApi = (await (await fetch(`${server.url}/openapi.json`)).json()) as { info: { version: string } };
    assert.equal(openApi.info.version, packageVersion, '/openapi.json reports the same version');

    for (const [path, entry] of [['/', 'app'], ['/docs', 'docs']] as const) {
      const page = await fetch(`${server.url}${path}`, { headers: { accept: browserAccept } });
      assert.equal(page.status, 200);
      assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.equal(page.headers.get('cache-control'), 'no-cache', 'the HTML is revalidated every time');
      assert.match(page.headers.get('content-security-policy')!, /default-src 'self'/);
      const html = await page.text();
      const urls = assetUrls(html);
      assert.deepEqual(urls.map((url) => url.replace(/\.[0-9a-f]{12}\./, '.')).sort(), [`/dashboard/${entry}.css`, `/dashboard/${entry}.js`]);
      assert.doesNotMatch(html, /https?:\/\/(?!www\.w3\.org)/, 'nothing from another origin');
      for (const url of urls) {
        const asset = await fetch(`${server.url}${url}`);
        assert.equal(asset.status, 200, url);
        assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
        assert.match(asset.headers.get('content-type')!, url.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
        const body = await asset.text();
        assert.ok(url.includes(`.${createHash('sha256').update(body).digest('hex').slice(0, 12)}.`), 'the URL carries the content hash');
        if (url.startsWith('/dashboard/app.') && url.endsWith('.js')) assert.match(body, /u-legend/, 'uPlot is bundled in, not loaded from node_modules or a CDN');
        if (url.endsWith('.js')) assert.doesNotMatch(body, /(?:^|[;\n])\s*import[\s{*"']|\bimport\(/, 'one self-contained bundle: it imports nothing');
      }
    }
    const appCss = assetUrls(await (await fetch(`${server.url}/`, { headers: { accept: browserAccept } })).text()).find((url) => url.endsWith('.css'))!;
    assert.match(await (await fetch(`${server.url}${appCss}`)).text(), /\.uplot/, "uPlot's CSS is bundled in");

    const stale = await fetch(`${server.url}/dashboard/app.000000000000.js`);
    assert.equal(stale.status, 404);
    assert.equal(((await stale.json()) as { error: { code: string } }).error.code, 'not_found');
    const post = await fetch(`${server.url}/`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET');
    assert.equal((await fetch(`${server.url}/stats`)).status, 401, 'the data itself still needs the token');
  });
});

describe("GET /stats?history=1: the rate chart's history", () => {
  test('holds what was published, second by second, and adds up to the counters', { timeout: 30_000 }, async () => {
    const server = await startServer({ shards: 2 });
    // 30 orders, 10 of them again: 40 received, 30 unique, 10 duplicates.
    const orders = Array.from({ length: 30 }, (_, index) => event({ topic: 'orders.eu', event_id: `o-${index}` }));
    for (const batch of [orders, orders.slice(0, 10)]) assert.equal((await publish(server.url, batch)).status, 200);

    const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);
    // The sampler takes a sample a second: wait for the one after the publishes.
    const stats = await pollUntil(async () => {
      const reply = await getJson(`${server.url}/stats?history=1`);
      return sum(reply.body.history.received) === 40 ? reply.body : undefined;
    }, 'the history to count the 40 events', { timeoutMs: 10_000, intervalMs: 100 });
    const { history } = stats;
    assert.deepEqual([sum(history.received), sum(history.unique_processed), sum(history.duplicate_dropped)], [40, 30, 10], 'the intervals add up to what was published');
    assert.deepEqual(history.end_counts, { received: 40, unique_processed: 30, duplicate_dropped: 10 }, 'idle: the counters at the end of the newest interval are the totals');
    assert.deepEqual([history.interval_ms, history.capacity], [1000, 900]);
    assert.equal(history.unique_processed.length, history.received.length);
    assert.equal(history.duplicate_dropped.length, history.received.length);
    assert.ok(history.end_uptime <= stats.uptime && history.end_uptime > stats.uptime - 1.1, `the newest interval ended within the last second (${history.end_uptime} s at ${stats.uptime} s)`);
    assert.equal(history.received.length, Math.round(history.end_uptime), 'one interval per second since the start, none missing');

    const document = (await getJson(`${server.url}/openapi.json`)).body;
    assert.ok(schemaValidator(document, 'Stats')(stats), 'the answer matches the published schema');
    assert.deepEqual(document.paths['/stats'].get.parameters.map((parameter: { name: string }) => parameter.name), ['history']);
    for (const query of ['', '?history=0']) assert.equal('history' in (await getJson(`${server.url}/stats${query}`)).body, false, `not without being asked (${query || 'no query'})`);
    await server.stop();
  });
});
