/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core) against a real server
 * with a read token: the user pastes the token, sees the counts move, pages through a topic, opens
 * an event, tails a topic across a pause without losing an event, searches and follows a query,
 * reads the API reference, and watches consumer groups.
 * Screenshots go to test/artifacts/ (git-ignored) for a person to look at.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser, missingBrowser, pageProblems } from './support/browser.js';
import { event, getJson, groupCall, pollUntil, publish, startServer, waitFor, type TestEvent } from './helper.js';

const artifacts = new URL('./artifacts/', import.meta.url);
const readToken = 'r-secret';

async function publishAll(url: string, events: TestEvent[]): Promise<void> {
  const reply = await publish(url, events);
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
}

const ids = (prefix: string, from: number, to: number) => Array.from({ length: to - from }, (_, index) => `${prefix}-${String(from + index).padStart(3, '0')}`);
const orders = (names: string[]) => names.map((id, index) => event({ topic: 'orders.eu', event_id: id, source: 'shop', payload: { order: id, lines: [{ sku: `sku-${index}`, quantity: 2 }], note: 'gift wrap' } }));

// Page state is read through locators from here, so this file needs no DOM types.
const textOf = (page: Page, selector: string) => page.locator(selector).first().textContent({ timeout: 1000 }).catch(() => null);

/** Waits until an element's text equals `expected` (the page's next poll or message). */
async function waitForText(page: Page, selector: string, expected: string, timeoutMs = 10_000): Promise<void> {
  try {
    await waitFor(async () => (await textOf(page, selector)) === expected, `${selector} to read ${JSON.stringify(expected)}`, timeoutMs);
  } catch (error) {
    assert.fail(`${(error as Error).message}; it reads ${JSON.stringify(await textOf(page, selector))}`);
  }
}

async function attributes(page: Page, selector: string, name: string): Promise<(string | null)[]> {
  const locator = page.locator(selector);
  return Promise.all(Array.from({ length: await locator.count() }, (_, index) => locator.nth(index).getAttribute(name)));
}

async function browseEventIds(page: Page): Promise<string[]> {
  return page.locator('[data-view="browse"] table.events tbody tr td:nth-child(2)').allTextContents();
}

describe('dashboard in a browser', { skip: missingBrowser() ?? false }, () => {
  test('live counts, paging through a topic, a payload, tail across a pause, and the API reference', { timeout: 90_000 }, async () => {
    await mkdir(artifacts, { recursive: true });
    const server = await startServer({ shards: 2, args: ['--read-token', readToken] });
    // 60 orders, 15 of them again (duplicates), and 10 logins: 85 received, 70 unique, 15 duplicates.
    await publishAll(server.url, orders(ids('o', 0, 60)));
    await publishAll(server.url, orders(ids('o', 0, 15)));
    await publishAll(server.url, ids('a', 0, 10).map((id) => event({ topic: 'auth.prod', event_id: id })));

    const browser = await launchBrowser();
    try {
      const page = browser.pages()[0] ?? (await browser.newPage());
      // Before the token is pasted, /stats answers 401, and the deliberately bad search 400.
      const problems = pageProblems(page);

      // A read token is configured: the page says so, and works once it is pasted.
      await page.goto(server.url);
      await page.waitForSelector('[data-banner][data-state="token"]:not([hidden])', { timeout: 10_000 });
      await page.fill('[data-token="input"]', readToken);
      await page.click('[data-token="use"]');
      await waitForText(page, '[data-stat="received-rate-detail"]', '85 in total');
      await waitForText(page, '[data-stat="unique-rate-detail"]', '70 in total');
      await waitForText(page, '[data-stat="duplicate-rate-detail"]', '15 in total');
      await waitForText(page, '[data-stat="duplicate-ratio"]', '17.6 %');
      assert.ok(await page.locator('[data-banner]').isHidden(), 'the token banner is gone');
      assert.equal(await page.evaluate('sessionStorage.getItem("aggregator.readToken")'), readToken, 'the token is kept in sessionStorage');
      await waitForText(page, '[data-service="version"]', 'v0.1.0 · 2 shards');

      // New events: the counts follow, the rate tile and the chart see them.
      await publishAll(server.url, orders([...ids('n', 0, 20), ...ids('n', 0, 5)]));
      await waitForText(page, '[data-stat="received-rate-detail"]', '110 in total');
      await waitForText(page, '[data-stat="unique-rate-detail"]', '90 in total');
      await waitForText(page, '[data-stat="duplicate-rate-detail"]', '20 in total');
      await waitFor(async () => Number(await textOf(page, '[data-stat="received-rate"]')) > 0, 'a non-zero received rate', 10_000);
      await waitFor(async () => Number(await page.getAttribute('[data-chart="rates"]', 'data-points')) >= 2, 'two points on the chart', 10_000);
      assert.equal(await page.locator('[data-chart="rates"] canvas').count(), 1, 'uPlot drew its canvas');
      const ordersRow = page.locator('[data-view="live"] tr[data-key="orders.eu"] td');
      await waitForText(page, '[data-view="live"] tr[data-key="orders.eu"] td:nth-child(2)', '100');
      assert.deepEqual((await ordersRow.allTextContents()).slice(0, 5), ['orders.eu', '100', '80', '20', '20.0 %']);
      assert.deepEqual(await page.locator('[data-view="live"] .badge').allTextContents(), ['healthy', 'healthy'], 'one row per shard');
      // Every event so far came through /publish; the other doors show their zeros.
      await waitForText(page, '[data-card="protocols"] tr[data-key="publish"] td:nth-child(3)', '110');
      assert.deepEqual(await page.locator('[data-card="protocols"] tr td:first-child').allTextContents(), ['publish', 'elasticsearch', 'otlp', 'loki']);
      assert.equal(await textOf(page, '[data-card="protocols"] tr[data-key="otlp"] td:nth-child(3)'), '0');
      assert.match(await page.locator('[data-view="live"] .meter-text').first().textContent() ?? '', /% of 32 MiB$/);
      await page.screenshot({ path: new URL('dashboard-live.png', artifacts).pathname, fullPage: true });

      // Browse: a click on the topic opens it; pages of 25 follow the `next` cursors, and go back.
      await page.click('[data-view="live"] tr[data-key="orders.eu"]');
      await page.waitForSelector('[data-view="browse"]:not([hidden])');
      await waitForText(page, '[data-browse="range"]', 'events 1–25 · page 1');
      assert.deepEqual(await browseEventIds(page), ids('o', 0, 25));
      await page.click('[data-browse="next"]');
      await waitForText(page, '[data-browse="range"]', 'events 26–50 · page 2');
      assert.deepEqual(await browseEventIds(page), ids('o', 25, 50));
      await page.click('[data-browse="next"]');
      await waitForText(page, '[data-browse="range"]', 'events 51–75 · page 3');
      assert.deepEqual(await browseEventIds(page), [...ids('o', 50, 60), ...ids('n', 0, 15)]);
      await page.click('[data-browse="next"]');
      await waitForText(page, '[data-browse="range"]', 'events 76–80 · page 4');
      assert.deepEqual(await browseEventIds(page), ids('n', 15, 20));
      assert.ok(await page.locator('[data-browse="next"]').isDisabled(), 'a short page is the end');
      await page.click('[data-browse="previous"]');
      await waitForText(page, '[data-browse="range"]', 'events 51–75 · page 3');
      assert.deepEqual(await browseEventIds(page), [...ids('o', 50, 60), ...ids('n', 0, 15)]);
      // An event's payload, pretty-printed.
      await page.click('[data-view="browse"] table.events tbody tr:nth-child(3)');
      const payload = await page.locator('[data-payload="o-052"]').textContent();
      assert.deepEqual(JSON.parse(payload ?? ''), { order: 'o-052', lines: [{ sku: 'sku-52', quantity: 2 }], note: 'gift wrap' });
      assert.match(payload ?? '', /^\{\n {2}"order": "o-052",\n {2}"lines": \[\n {4}\{/, 'indented, one field a line');
      await page.screenshot({ path: new URL('dashboard-browse.png', artifacts).pathname, fullPage: true });

      // Search: a payload field and the source, through the same /events filters.
      await page.fill('[data-search="fields"]', 'order=o-007');
      await page.click('[data-browse="apply"]');
      await waitForText(page, '[data-browse="range"]', 'events 1–1 · page 1');
      assert.deepEqual(await browseEventIds(page), ['o-007']);
      await page.fill('[data-search="fields"]', '');
      await page.fill('[data-search="source"]', 'nobody');
      await page.click('[data-browse="apply"]');
      await waitForText(page, '[data-browse="message"]', 'No event matches.');
      await page.fill('[data-search="source"]', '');
      await page.fill('[data-search="since"]', 'last tuesday');
      await page.click('[data-browse="apply"]');
      await waitFor(async () => /Could not load events: .*since/.test((await textOf(page, '[data-browse="message"]')) ?? ''), 'the 400 to be shown');
      await page.fill('[data-search="since"]', '');
      await page.click('[data-browse="apply"]');
      await waitForText(page, '[data-browse="range"]', 'events 1–25 · page 1');

      // Tail: live events arrive; a pause closes the socket, and resuming from the last cursor
      // delivers what was published meanwhile, once.
      await page.click('[data-nav="tail"]');
      await page.fill('[data-tail="topic"]', 'tail.demo');
      await page.click('[data-tail="start"]');
      await waitForText(page, '[data-tail="state"]', 'live');
      await publishAll(server.url, [event({ topic: 'tail.demo', event_id: 'live-1', payload: { step: 1 } }), event({ topic: 'other.topic', event_id: 'elsewhere' })]);
      await page.waitForSelector('[data-event-id="live-1"]', { timeout: 10_000 });
      await page.click('[data-tail="pause"]');
      await waitForText(page, '[data-tail="state"]', 'paused');
      await publishAll(server.url, [event({ topic: 'tail.demo', event_id: 'live-2', payload: { step: 2 } }), event({ topic: 'tail.demo', event_id: 'live-3', payload: { step: 3 } })]);
      await page.waitForTimeout(300);
      assert.equal(await page.locator('[data-event-id="live-2"]').count(), 0, 'nothing arrives while paused');
      await page.click('[data-tail="pause"]'); // now labelled Resume
      await page.waitForSelector('[data-event-id="live-3"]', { timeout: 10_000 });
      await waitForText(page, '[data-tail="state"]', 'live');
      assert.deepEqual(await attributes(page, '[data-view="tail"] tbody tr', 'data-event-id'), ['live-3', 'live-2', 'live-1'], 'newest first, none lost, none repeated');
      await waitForText(page, '[data-tail="count"]', '3');
      await page.click('[data-event-id="live-2"]');
      assert.deepEqual(JSON.parse((await page.locator('[data-view="tail"] [data-payload="live-2"]').textContent()) ?? ''), { step: 2 });
      await page.screenshot({ path: new URL('dashboard-tail.png', artifacts).pathname, fullPage: true });

      // The API reference, rendered from /openapi.json by the page's own code.
      await page.goto(`${server.url}/docs`);
      await page.waitForSelector('[data-operation="GET /events"]', { timeout: 10_000 });
      for (const operation of ['POST /publish', 'GET /events', 'GET /tail', 'GET /stats', 'GET /health', 'GET /metrics']) {
        assert.equal(await page.locator(`[data-operation="${operation}"]`).count(), 1, operation);
      }
      assert.deepEqual(await attributes(page, '[data-operation="GET /events"] tr[data-parameter]', 'data-parameter'), ['topic', 'limit', 'after', 'since', 'until', 'source', 'payload']);
      assert.match((await page.locator('[data-operation="GET /events"] tr[data-parameter="limit"]').textContent()) ?? '', /integer.*1–1000.*default 100/);
      assert.deepEqual(await page.locator('[data-operation="POST /publish"] tr[data-status] td.status').allTextContents(), ['200', '400', '401', '403', '413', '415', '422', '503']);
      assert.match((await page.locator('#schema-Event').textContent()) ?? '', /topic.*required.*1–128 chars/);
      await page.screenshot({ path: new URL('dashboard-docs.png', artifacts).pathname });

      assert.deepEqual(problems, [], 'no script errors and no CSP violations');
    } finally {
      await browser.close();
      await server.stop();
    }
  });

  test("a fresh tab draws the rate chart at once from the server's history, then appends the live polls", { timeout: 60_000 }, async () => {
    await mkdir(artifacts, { recursive: true });
    const server = await startServer({ shards: 2 });
    await publishAll(server.url, orders(ids('h', 0, 40)));
    // Events published before the tab opens, and at least three of the server's one-second intervals behind them.
    const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);
    const intervals = await pollUntil(async () => {
      const { history } = (await getJson(`${server.url}/stats?history=1`)).body as { history: { received: number[] } };
      return sum(history.received) === 40 && history.received.length >= 3 ? history.received.length : undefined;
    }, 'the server history to hold the 40 events and three intervals', { timeoutMs: 10_000, intervalMs: 100 });
    const browser = await launchBrowser();
    try {
      const page = browser.pages()[0] ?? (await browser.newPage());
      const problems = pageProblems(page);
      const statsQueries: string[] = [];
      page.on('request', (request) => {
        const url = new URL(request.url());
        if (url.pathname === '/stats') statsQueries.push(url.search);
      });
      const chartPoints = async () => Number(await page.getAttribute('[data-chart="rates"]', 'data-points'));

      await page.goto(server.url);
      // The first answer is on the page: without the history the chart would have no point yet
      // (a rate needs two polls), and one a second from then on.
      await waitForText(page, '[data-stat="received-rate-detail"]', '40 in total');
      const first = await chartPoints();
      assert.ok(first >= intervals, `the chart holds the server's ${intervals} intervals at once (${first} points)`);
      assert.ok(Number(await page.getAttribute('[data-chart="rates"]', 'data-max-received')) > 0, 'and the published events are on it');
      assert.equal(await textOf(page, '[data-view="live"] .card-head .muted'), 'last 15 minutes');
      assert.equal(statsQueries[0], '?history=1', 'the first poll asks for the history');

      // The live polls append to it, without asking for the history again.
      await waitFor(async () => (await chartPoints()) >= first + 2, 'two live points appended', 10_000);
      assert.deepEqual(statsQueries.slice(1).filter((query) => query !== ''), [], 'later polls are plain /stats');
      await page.screenshot({ path: new URL('dashboard-rate-history.png', artifacts).pathname });
      assert.deepEqual(problems, [], 'no script errors and no CSP violations');
    } finally {
      await browser.close();
      await server.stop();
    }
  });

  test('search: a query over recent events newest first with its words marked, the histogram and its zoom, a JSON, load more, an invalid query, and Live', { timeout: 90_000 }, async () => {
    await mkdir(artifacts, { recursive: true });
    const server = await startServer({ shards: 2, args: ['--read-token', readToken] });
    const now = Date.now();
    const minutesAgo = (minutes: number) => new Date(now - minutes * 60_000).toISOString();
    // Twelve card payments declined, 50 to 6 minutes ago, one every 4 minutes, the word in three
    // spellings (the search and its marks ignore case and accents); then ones that must not match.
    const spelling = (index: number) => (index === 11 ? 'Déclined' : index % 2 === 1 ? 'DECLINED' : 'declined');
    const declined = (index: number, minutes: number) =>
      event({ topic: 'shop.payments', event_id: `pay-${String(index).padStart(2, '0')}`, timestamp: minutesAgo(minutes), source: 'checkout', payload: { message: `card ${spelling(index)} for order ${index}`, amount: index } });
    // One request each: the acceptance order (seq), which "newest first" follows, is then the index order.
    for (let index = 0; index < 12; index++) await publishAll(server.url, [declined(index, 50 - 4 * index)]);
    await publishAll(server.url, ids('ok', 0, 5).map((id) => event({ topic: 'shop.payments', event_id: id, timestamp: minutesAgo(20), source: 'checkout', payload: { message: 'card accepted' } })));
    await publishAll(server.url, [event({ topic: 'auth.login', event_id: 'login-1', timestamp: minutesAgo(10), payload: { message: 'login declined' } })]);
    const expectedIds = (from: number, to: number) => Array.from({ length: from - to }, (_, offset) => `pay-${String(from - 1 - offset).padStart(2, '0')}`);
    const expectedMarks = (from: number, to: number) => Array.from({ length: from - to }, (_, offset) => spelling(from - 1 - offset));

    const browser = await launchBrowser();
    try {
      const page = browser.pages()[0] ?? (await browser.newPage());
      // The invalid query is answered 400.
      const problems = pageProblems(page);
      const view = '[data-view="search"]';
      const rowIds = () => attributes(page, `${view} tbody tr[data-event-id]`, 'data-event-id');
      const marks = () => page.locator(`${view} tbody tr[data-event-id] td.match mark`).allTextContents();
      const barCounts = async () => (await attributes(page, '[data-search-view="histogram"] button', 'data-count')).map(Number);

      await page.goto(server.url);
      await page.fill('[data-token="input"]', readToken);
      await page.click('[data-token="use"]');
      await waitForText(page, '[data-stat="received-rate-detail"]', '18 in total');
      await page.click('[data-nav="search"]');
      await page.waitForSelector(`${view}:not([hidden])`);
      assert.equal(await page.getAttribute('[data-nav="search"]', 'class'), 'nav-link active');

      // A word over a topic glob, 10 a page: the newest ten, newest first, the word marked however it is spelled.
      await page.selectOption('[data-search-view="page-size"]', '10');
      await page.fill('[data-search-view="q"]', 'declined');
      await page.fill('[data-search-view="topic"]', 'shop.*');
      await page.click('[data-search-view="submit"]');
      await waitForText(page, '[data-search-view="summary"]', '12 matches');
      await waitForText(page, '[data-search-view="shown"]', 'showing 10');
      assert.deepEqual(await rowIds(), expectedIds(12, 2), 'newest first');
      assert.deepEqual(await marks(), expectedMarks(12, 2), 'one mark a row, on the word, in its own spelling');
      assert.equal(await textOf(page, `${view} tr[data-event-id="pay-11"] td.match`), '{"message":"card Déclined for order 11","amount":11}');
      // The histogram (60 bars over the last hour) counts every match, not only the page's.
      const bars = await barCounts();
      assert.equal(bars.length, 60);
      assert.equal(bars.reduce((sum, count) => sum + count, 0), 12, 'the bars add up to the matches');
      assert.equal(await page.getAttribute('[data-search-view="histogram"]', 'data-total'), '12');
      await page.screenshot({ path: new URL('dashboard-search.png', artifacts).pathname, fullPage: true });

      // Load more: the next page by the cursor, below; then nothing more.
      await page.click('[data-search-view="more"]');
      await waitForText(page, '[data-search-view="shown"]', 'showing 12');
      assert.deepEqual(await rowIds(), expectedIds(12, 0));
      assert.deepEqual(await marks(), expectedMarks(12, 0));
      await waitForText(page, '[data-search-view="message"]', 'No more matches.');
      assert.ok(await page.locator('[data-search-view="more"]').isHidden(), 'no more pages');

      // A match opens to its JSON, the word marked there too; a second click closes it.
      await page.click(`${view} tr[data-event-id="pay-05"]`);
      const json = page.locator(`${view} [data-payload="pay-05"]`);
      assert.deepEqual(JSON.parse((await json.textContent()) ?? ''), { message: 'card DECLINED for order 5', amount: 5 });
      assert.deepEqual(await json.locator('mark').allTextContents(), ['DECLINED']);
      await page.click(`${view} tr[data-event-id="pay-05"]`);
      await page.waitForSelector(`${view} [data-payload="pay-05"]`, { state: 'detached', timeout: 5000 });

      // A bar zooms the range to its minute: only the oldest payment is in the first bar that counts one.
      const firstBar = page.locator('[data-search-view="histogram"] button:not([data-count="0"])').first();
      const barStart = await firstBar.getAttribute('data-start');
      await firstBar.click();
      await waitForText(page, '[data-search-view="summary"]', '1 match');
      await waitForText(page, '[data-search-view="shown"]', 'showing 1');
      assert.deepEqual(await rowIds(), ['pay-00']);
      assert.equal(await page.inputValue('[data-search-view="range"]'), 'custom');
      assert.equal(new Date(await page.inputValue('[data-search-view="since"]')).getTime(), new Date(barStart ?? '').getTime());
      assert.equal((await barCounts()).reduce((sum, count) => sum + count, 0), 1);
      await page.selectOption('[data-search-view="range"]', '1h');
      await waitForText(page, '[data-search-view="summary"]', '12 matches');

      // A query the service refuses: its message, position included, where the list was.
      await page.fill('[data-search-view="q"]', 'declined "card');
      await page.press('[data-search-view="q"]', 'Enter');
      await waitForText(page, '[data-search-view="error"]', 'Invalid query: q: unterminated quote at position 10');
      assert.equal(await page.getAttribute('[data-search-view="q"]', 'aria-invalid'), 'true');
      assert.deepEqual(await rowIds(), []);
      assert.equal(await page.locator('[data-search-view="histogram"] button').count(), 0);

      // Live: the query followed over /tail?q=; a new match arrives on top, what does not match
      // (another word, or the word outside the topic glob) does not, and the histogram recounts.
      await page.fill('[data-search-view="q"]', 'declined');
      await page.check('[data-search-view="live"]');
      await waitForText(page, '[data-search-view="live-state"]', 'live');
      await waitForText(page, '[data-search-view="shown"]', 'showing 10');
      assert.equal(await textOf(page, '[data-search-view="error"]'), '');
      await publishAll(server.url, [event({ topic: 'auth.login', event_id: 'login-2', timestamp: minutesAgo(1), payload: { message: 'login declined' } })]);
      await publishAll(server.url, [event({ topic: 'shop.payments', event_id: 'ok-late', timestamp: minutesAgo(1), payload: { message: 'card accepted' } })]);
      await publishAll(server.url, [declined(12, 1)]);
      await page.waitForSelector(`${view} tr[data-event-id="pay-12"]`, { timeout: 10_000 });
      // The stream delivers in seq order: by the time pay-12 is shown, the two before it were seen and left out.
      assert.deepEqual(await rowIds(), expectedIds(13, 2), 'the new match on top, nothing else added, nothing twice');
      assert.deepEqual((await marks())[0], 'declined');
      await waitForText(page, '[data-search-view="shown"]', 'showing 11');
      await waitForText(page, '[data-search-view="summary"]', '13 matches');
      assert.equal((await barCounts()).reduce((sum, count) => sum + count, 0), 13);
      await page.uncheck('[data-search-view="live"]');
      await waitForText(page, '[data-search-view="live-state"]', 'idle');
      await page.screenshot({ path: new URL('dashboard-search-live.png', artifacts).pathname, fullPage: true });

      assert.deepEqual(problems, [], 'no script errors and no CSP violations');
    } finally {
      await browser.close();
      await server.stop();
    }
  });

  test('with 10 000 topics: the live view polls a bounded /stats, and the topic search finds any topic through /topics', { timeout: 90_000 }, async () => {
    const server = await startServer({ shards: 2 });
    const topics = Array.from({ length: 10_000 }, (_, index) => `tenant-${String(index).padStart(5, '0')}.logs`);
    // One event per topic, and a few more for ten of them, so the largest are known.
    const events = [...topics.map((topic) => event({ topic, event_id: 'first' })), ...topics.slice(0, 10).flatMap((topic) => ids('x', 0, 5).map((id) => event({ topic, event_id: id })))];
    for (let start = 0; start < events.length; start += 5000) await publishAll(server.url, events.slice(start, start + 5000));
    const stats = (await (await fetch(`${server.url}/stats`)).json()) as { topics: string[]; topic_count: number };
    assert.equal(stats.topics.length, 1000, 'bounded');
    assert.equal(stats.topic_count, 10_000);
    const browser = await launchBrowser();
    try {
      const page = browser.pages()[0] ?? (await browser.newPage());
      await page.goto(server.url);
      await waitForText(page, '[data-view="live"] tr[data-key="tenant-00003.logs"] td:nth-child(2)', '6');
      assert.equal(await page.locator('[data-view="live"] table tbody tr[data-key^="tenant-"]').count(), 1000, 'the live table holds the bounded list');
      await page.click('[data-nav="browse"]');
      await waitForText(page, '[data-browse="topic-note"]', 'The 1,000 largest of 10,000 topics; search to find any.');
      // A topic far outside the largest thousand, found by the server-side search.
      await page.fill('[data-browse="topic-search"]', 'tenant-0987');
      await page.waitForSelector('[data-view="browse"] tr[data-topic="tenant-09876.logs"]', { timeout: 10_000 });
      assert.equal(await page.locator('[data-view="browse"] tr[data-topic^="tenant-0987"]').count(), 10);
      await page.click('[data-view="browse"] tr[data-topic="tenant-09876.logs"]');
      await waitForText(page, '[data-browse="range"]', 'events 1–1 · page 1');
      assert.deepEqual(await browseEventIds(page), ['first']);
    } finally {
      await browser.close();
      await server.stop();
    }
  });

  test('consumer groups: the card asks for the consume token, then shows pending, lag, acks and the ack rate, the most pending first, at most 50', { timeout: 90_000 }, async () => {
    await mkdir(artifacts, { recursive: true });
    const consumeToken = 'c-secret';
    const server = await startServer({ shards: 2, args: ['--consume-token', consumeToken] });
    const call = async (name: string, verb: string, body: unknown, status = 200) => {
      const reply = await groupCall(server.url, name, verb, body, { token: consumeToken });
      assert.equal(reply.status, status, JSON.stringify(reply.body));
      return reply.body;
    };
    const browser = await launchBrowser();
    try {
      const page = browser.pages()[0] ?? (await browser.newPage());
      // /groups answers 401 until the consume token is pasted.
      const problems = pageProblems(page);
      const card = '[data-card="groups"]';
      const message = `${card} [data-groups="message"]`;
      const cell = (group: string, column: number) => `${card} tr[data-key="${group}"] td:nth-child(${column})`;
      const names = () => page.locator(`${card} tbody tr td:first-child`).allTextContents();

      // Reads are open and the group routes are not: the card says so, and no read-token banner comes up.
      await page.goto(server.url);
      await waitFor(async () => ((await textOf(page, message)) ?? '').startsWith('Consumer groups need the consume token'), 'the card to ask for the consume token', 10_000);
      assert.ok(await page.locator('[data-banner]').isHidden(), 'reads are open: no token banner');
      await page.fill('[data-token="input"]', consumeToken);
      await page.click('[data-token="use"]');
      await waitForText(page, message, 'No consumer groups yet — PUT /groups/{name} creates one.');

      // billing: 10 matching events, 6 fetched and in flight; audit: nothing to deliver.
      await call('billing', '', { topics: 'orders.*', ack_wait_ms: 60_000 }, 201);
      await call('audit', '', { topics: 'audit.log' }, 201);
      await publishAll(server.url, ids('g', 0, 10).map((id) => event({ topic: 'orders.eu', event_id: id })));
      const fetched = ((await call('billing', 'fetch', { max: 6 })) as { messages: { id: string }[] }).messages;
      assert.equal(fetched.length, 6);
      await waitForText(page, cell('billing', 3), '6');
      await waitForText(page, message, '');
      assert.deepEqual(await names(), ['billing', 'audit'], 'the most pending first');
      assert.deepEqual((await page.locator(`${card} tr[data-key="audit"] td`).allTextContents()).slice(0, 5), ['audit', 'audit.log', '0', '0', '0']);

      // Four acked: two still pending, four never delivered; the acks show as a rate.
      await call('billing', 'ack', { ids: fetched.slice(0, 4).map((delivered) => delivered.id) });
      await waitForText(page, cell('billing', 5), '4');
      const row = await page.locator(`${card} tr[data-key="billing"] td`).allTextContents();
      assert.deepEqual(row.slice(0, 5), ['billing', 'orders.*', '2', '4', '4'], 'name, topics, pending, lag, acked');
      assert.deepEqual(row.slice(6, 8), ['0', '0'], 'nothing redelivered or dead-lettered');
      assert.match(row[8] ?? '', /^\d+$/, 'consumers');
      await waitFor(async () => Number(await textOf(page, cell('billing', 6))) > 0, 'a non-zero ack rate', 10_000);
      await waitForText(page, `${card} [data-groups="note"]`, '2 groups');
      await page.screenshot({ path: new URL('dashboard-groups.png', artifacts).pathname, fullPage: true });

      // Many groups: the card keeps the 50 with the most pending, and says so.
      for (let index = 0; index < 60; index++) await call(`idle-${String(index).padStart(2, '0')}`, '', { topics: 'idle' }, 201);
      await waitForText(page, `${card} [data-groups="note"]`, 'the 50 with the most pending of 62 groups');
      const shown = await names();
      assert.equal(shown.length, 50, 'bounded');
      assert.equal(shown[0], 'billing');

      assert.deepEqual(problems, [], 'no script errors and no CSP violations');
    } finally {
      await browser.close();
      await server.stop();
    }
  });
});
