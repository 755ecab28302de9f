/**
 * /search, /search/histogram, /search/top and /tail?q= on real servers and real shard files,
 * against the brute-force oracle (test/support/search-oracle.ts): random queries from the grammar
 * over random events, both orders, paged, with the word index built, with it off, and while
 * publishing goes on; counts equal to the brute-force counts; hostile queries refused fast.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import WebSocket from 'ws';
import { printQuery } from '../src/search/query.js';
import { allEvents, getJson, pollUntil, publish, startServer, stats, type TestServer } from './helper.js';
import { queryNode, searchableEvent } from './internals/search/arbitraries.js';
import { oracleHistogram, oracleMatches, oracleTop, ordered, searchAll, valueOf, type SearchParams } from './support/search-oracle.js';

const kEvents = 900;
const kSpanMs = 2 * 3_600_000;
const now = Date.now();
const windowStart = new Date(now - kSpanMs).toISOString();
const windowEnd = new Date(now + 60_000).toISOString();

/** Seeded events: timestamps spread over the last two hours, ids unique (e0, e1, … as the queries' event_id: values name them). */
function seededEvents(count: number, seed: number, idPrefix = 'e'): any[] {
  return fc.sample(searchableEvent, { seed, numRuns: count }).map((drawn, index) => ({
    ...drawn,
    event_id: `${idPrefix}${index}`,
    timestamp: new Date(now - ((index * 7919 * 1000 + seed) % kSpanMs)).toISOString(),
  }));
}

async function publishAll(url: string, events: readonly any[]): Promise<void> {
  for (let start = 0; start < events.length; start += 250) assert.equal((await publish(url, events.slice(start, start + 250))).status, 200);
}

async function indexed(server: TestServer): Promise<void> {
  await pollUntil(async () => ((await stats(server.url)).shard_status.every((shard: any) => shard.search_pending === 0) ? true : undefined), 'the search index to catch up', { timeoutMs: 30_000 });
}

const topicGlobs = [undefined, 'auth.*', '*.prod', 'db', 'web.prod'];
const randomParams = (seed: number, count: number): SearchParams[] =>
  fc
    .sample(
      fc.record({
        q: queryNode.map((node) => printQuery(node)),
        topic: fc.constantFrom(...topicGlobs),
        range: fc.option(fc.tuple(fc.integer({ min: 0, max: kSpanMs }), fc.integer({ min: 60_000, max: kSpanMs })), { nil: undefined }),
      }),
      { seed, numRuns: count },
    )
    .map(({ q, topic, range }) => ({
      q,
      ...(topic === undefined ? {} : { topic }),
      ...(range === undefined ? {} : { since: new Date(now - range[0]).toISOString(), until: new Date(now - range[0] + range[1]).toISOString() }),
    }));

describe('search against brute force', () => {
  let withIndex: TestServer;
  let withoutIndex: TestServer;
  let stored: any[];

  before(async () => {
    [withIndex, withoutIndex] = await Promise.all([startServer({ shards: 3 }), startServer({ shards: 2, args: ['--search-index', 'off'] })]);
    const events = seededEvents(kEvents, 7);
    // Half indexed before the rest arrives: the second half may still be the unindexed tail when searched.
    await Promise.all([withIndex, withoutIndex].map((server) => publishAll(server.url, events.slice(0, kEvents / 2))));
    await indexed(withIndex);
    await Promise.all([withIndex, withoutIndex].map((server) => publishAll(server.url, events.slice(kEvents / 2))));
    stored = await allEvents(withIndex.url);
    assert.equal(stored.length, kEvents);
  });
  after(async () => {
    await Promise.all([withIndex?.stop(), withoutIndex?.stop()]);
  });

  test('random queries page to exactly the brute-force matches, newest and oldest first, index or none (property)', async () => {
    let nonEmpty = 0;
    for (const params of randomParams(11, 70)) {
      const expected = oracleMatches(stored, params);
      if (expected.length > 0) nonEmpty++;
      for (const server of [withIndex, withoutIndex]) {
        const seqs = (events: readonly any[]) => events.map((event) => event.seq);
        const desc = await searchAll(server.url, params, 'desc', 7);
        assert.deepEqual(seqs(desc.events), ordered(expected, 'desc'), `newest first: ${JSON.stringify(params)}`);
        const asc = await searchAll(server.url, params, 'asc', 50);
        assert.deepEqual(seqs(asc.events), ordered(expected, 'asc'), `oldest first: ${JSON.stringify(params)}`);
      }
    }
    assert.ok(nonEmpty >= 20, `the queries found something often enough to mean something (${nonEmpty} of 70)`);
  });

  test('histogram counts equal the brute-force counts, split by a field or not', async () => {
    for (const [index, params] of randomParams(23, 30).entries()) {
      const by = [undefined, 'topic', 'payload.level', 'source'][index % 4];
      const query = new URLSearchParams({ q: params.q ?? '', since: windowStart, until: windowEnd, buckets: '13', ...(params.topic ? { topic: params.topic } : {}), ...(by ? { by } : {}) });
      const expected = oracleMatches(stored, { ...params, since: windowStart, until: windowEnd });
      const counts = oracleHistogram(expected, windowStart, windowEnd, 13);
      for (const server of [withIndex, withoutIndex]) {
        const { status, body } = await getJson(`${server.url}/search/histogram?${query}`);
        assert.equal(status, 200, JSON.stringify(body));
        assert.equal(body.partial, false);
        assert.equal(body.total, expected.length, `total of ${query}`);
        assert.deepEqual(body.buckets.map((bucket: any) => bucket.count), counts, `buckets of ${query}`);
        if (!by) continue;
        // Each bucket's split adds up to its count; a listed value's count is the brute-force one.
        for (const [bucket, { count, by: split }] of body.buckets.entries()) {
          assert.equal(Object.values(split as Record<string, number>).reduce((sum, n) => sum + n, 0), count);
          const inBucket = expected.filter((event) => oracleHistogram([event], windowStart, windowEnd, 13)[bucket] === 1);
          for (const [value, n] of Object.entries(split as Record<string, number>)) {
            if (value !== '_other') assert.equal(n, inBucket.filter((event) => String(valueOf(event, by)) === value).length, `${value} in bucket ${bucket}`);
          }
        }
      }
    }
  });

  test('top values equal the brute-force counts', async () => {
    // Words alone over every topic and all time are counted from the index: each field, arrays included.
    const fromIndex: SearchParams[] = ['error', 'time* -web', 'cafe OR "time out"', ''].map((q) => ({ q }));
    for (const [index, params] of [...fromIndex.flatMap((params) => Array.from({ length: 5 }, () => params)), ...randomParams(31, 30)].entries()) {
      const field = ['topic', 'source', 'payload.level', 'payload.user.id', 'payload.count'][index % 5]!;
      const expected = oracleMatches(stored, params);
      const counts = [...oracleTop(expected, field)].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 4);
      const query = new URLSearchParams({ field, limit: '4', ...params } as Record<string, string>);
      for (const server of [withIndex, withoutIndex]) {
        const { status, body } = await getJson(`${server.url}/search/top?${query}`);
        assert.equal(status, 200, JSON.stringify(body));
        assert.equal(body.total, expected.length);
        assert.deepEqual(body.values.map((entry: any) => [JSON.stringify(entry.value), entry.count]), counts, `top of ${query}`);
        assert.equal(body.other, expected.length - counts.reduce((sum, [, n]) => sum + n, 0));
      }
    }
  });
});

describe('search while publishing goes on', () => {
  test('paging newest first gives the matches up to the first page, oldest first gives all of them: no skip, no repeat', async () => {
    const server = await startServer({ shards: 3 });
    try {
      await publishAll(server.url, seededEvents(300, 3, 'old'));
      let publishing = true;
      const publisher = (async () => {
        for (let round = 0; round < 30; round++) await publishAll(server.url, seededEvents(60, 100 + round, `r${round}-`));
        publishing = false;
      })();
      const params: SearchParams = { q: 'error OR time*' };
      const results: { events: any[] }[] = [];
      const pager = async (): Promise<void> => {
        while (publishing) results.push(await searchAll(server.url, params, 'desc', 9), await searchAll(server.url, params, 'asc', 40));
      };
      await Promise.all([publisher, pager(), pager()]);
      assert.ok(results.length >= 4, 'several pagings ran while publishing');
      const stored = await allEvents(server.url);
      const expected = oracleMatches(stored, params);
      for (const [index, { events }] of results.entries()) {
        if (index % 2 === 0) {
          // Newest first reads at the watermark of its first page: every match at or below its first event.
          const first = events[0]?.seq ?? 0;
          assert.deepEqual(events.map((event) => event.seq), ordered(expected.filter((event) => event.seq <= first), 'desc'));
        } else {
          // Oldest first ends at the watermark it reached: every match up to its last event, none missing in between.
          const last = events.at(-1)?.seq ?? 0;
          assert.deepEqual(events.map((event) => event.seq), ordered(expected.filter((event) => event.seq <= last), 'asc'));
        }
      }
      const final = await searchAll(server.url, params, 'asc', 100);
      assert.deepEqual(final.events.map((event) => event.seq), ordered(expected, 'asc'), 'after publishing stops, oldest first finds every match');
    } finally {
      await server.stop();
    }
  });
});

describe('search bounds', () => {
  test('a rare match past the page bound: partial pages carry the cursor on, and a row bound makes counts partial', async () => {
    const server = await startServer({ shards: 1, args: ['--search-index', 'off', '--search-max-rows', '1000'] });
    try {
      const filler = Array.from({ length: 25_000 }, (_, index) => ({ topic: 'bulk', event_id: `f${index}`, timestamp: new Date(now - 1000).toISOString(), source: 'gen', payload: { msg: 'routine line' } }));
      await publishAll(server.url, [{ topic: 'bulk', event_id: 'needle', timestamp: new Date(now - 1000).toISOString(), source: 'gen', payload: { msg: 'zanzibar' } }]);
      for (let start = 0; start < filler.length; start += 5000) assert.equal((await publish(server.url, filler.slice(start, start + 5000))).status, 200);
      const first = await getJson(`${server.url}/search?q=zanzibar`);
      assert.equal(first.status, 200);
      assert.equal(first.body.count, 0);
      assert.equal(first.body.partial, true, 'the newest 20 000 rows hold no match: the page says so');
      assert.notEqual(first.body.next, null);
      const all = await searchAll(server.url, { q: 'zanzibar' }, 'desc', 10);
      assert.deepEqual(all.events.map((event) => event.event_id), ['needle']);
      const histogram = await getJson(`${server.url}/search/histogram?q=routine&since=-1h`);
      assert.equal(histogram.body.partial, true);
      assert.ok(histogram.body.total > 0 && histogram.body.total <= 1000, `counted at most the row bound: ${histogram.body.total}`);
      const top = await getJson(`${server.url}/search/top?field=topic`);
      assert.equal(top.body.partial, true);
      assert.ok(top.body.total <= 1000);
    } finally {
      await server.stop();
    }
  });

  test('hostile queries are 400 invalid_query with a position, at once', async () => {
    const server = await startServer();
    try {
      await publishAll(server.url, seededEvents(50, 5));
      const refused = async (q: string, position?: RegExp): Promise<void> => {
        const started = performance.now();
        const { status, body } = await getJson(`${server.url}/search?${new URLSearchParams({ q })}`);
        assert.equal(status, 400, `${q.slice(0, 40)}: ${JSON.stringify(body)}`);
        assert.equal(body.error.code, 'invalid_query');
        assert.match(body.error.message, position ?? /at position \d+/);
        assert.ok(performance.now() - started < 1000, 'refused fast');
      };
      await refused('('.repeat(50) + 'a' + ')'.repeat(50), /nested deeper than 8/);
      // 10 000 ORs in a 50 KB request line: one loopback segment, so uWS parses it in place. A head that arrives in
      // pieces is buffered only up to 4 KiB, past which uWS closes the connection (the 1 MiB case below).
      await refused(Array(10_000).fill('a').join(' OR '), /longer than 1024 bytes/);
      await refused(Array.from({ length: 17 }, (_, index) => `w${index}`).join(' OR '), /more than 16 terms at position/);
      await refused('error "unterminated', /unterminated quote at position 7/);
      await refused('a*', /prefix needs at least 2/);
      await refused('x'.repeat(60_000), /longer than 1024 bytes \(UTF-8\) at position 1025/);
      // A 1 MiB URL never reaches a handler: the HTTP layer closes the connection (uWS's request-line bound), no work done.
      await assert.rejects(getJson(`${server.url}/search?q=${'x'.repeat(1 << 20)}`));
      assert.equal((await getJson(`${server.url}/search?q=error`)).status, 200, 'and the service goes on');
      for (const [name, value] of [['order', 'up'], ['limit', '0'], ['topic', 'a b'], ['after', 'nope'], ['since', 'yesterday']]) {
        const { status, body } = await getJson(`${server.url}/search?${name}=${encodeURIComponent(value!)}`);
        assert.equal(status, 400, name);
        assert.equal(body.error.code, 'invalid_query');
      }
      for (const path of ['/search/histogram?buckets=1001', '/search/histogram?step=1s&since=-1d', '/search/histogram?since=-1m&until=-2m', '/search/top?field=payload.', '/search/top?field=x&limit=101']) {
        const { status, body } = await getJson(`${server.url}${path}`);
        assert.equal(status, 400, path);
        assert.equal(body.error.code, 'invalid_query');
      }
    } finally {
      await server.stop();
    }
  });
});

describe('/tail?q=', () => {
  test('replays and then follows only the events that match the query, in seq order', async () => {
    const server = await startServer();
    try {
      const make = (id: string, msg: string) => ({ topic: 'live', event_id: id, timestamp: new Date().toISOString(), source: 'svc', payload: { msg } });
      await publishAll(server.url, [make('a', 'disk full on host'), make('b', 'all fine'), make('c', 'Disk check')]);
      const socket = new WebSocket(`${server.url.replace('http', 'ws')}/tail?after=${encodeURIComponent(Buffer.from('v1:0').toString('base64url'))}&q=${encodeURIComponent('disk -fine')}`);
      const received: string[] = [];
      socket.on('message', (data) => received.push(...JSON.parse(String(data)).events.map((event: any) => event.event_id)));
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      await pollUntil(() => (received.length >= 2 ? true : undefined), 'the replay');
      await publishAll(server.url, [make('d', 'no match'), make('e', 'DISK failing'), make('f', 'disk fine')]);
      await pollUntil(() => (received.length >= 3 ? true : undefined), 'the live match');
      await publishAll(server.url, [make('g', 'disk again')]);
      await pollUntil(() => (received.length >= 4 ? true : undefined), 'the next live match');
      assert.deepEqual(received, ['a', 'c', 'e', 'g']);
      socket.close();
      const bad = await getJson(`${server.url}/tail?q=${encodeURIComponent('(')}`);
      assert.equal(bad.status, 400);
    } finally {
      await server.stop();
    }
  });
});
