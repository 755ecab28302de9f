/**
 * /events and /tail search filters (since/until on the event timestamp in UTC, source, payload
 * field equality; indexed with --index-field or scanned in bounded pages), checked against a
 * brute-force filter of everything stored: paging through a filter yields exactly the matches, in
 * seq order, never skipping or repeating one, also while publishing goes on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import WebSocket from 'ws';
import { decodeCursor } from '../src/events/cursor.js';
import { allEvents, event, getJson, publish, startServer, type TestServer } from './helper.js';

interface Filter {
  topic?: string;
  since?: string;
  until?: string;
  source?: string;
  fields?: Record<string, string>;
}

const topics = ['orders', 'audit', 'web'];
const sources = ['api', 'worker', 'cron'];
// The same instants written in different zones: the filters compare in UTC.
const zones = ['Z', '+02:00', '-05:30'];

function timestampOf(minute: number, zone: string): string {
  const utc = new Date(Date.UTC(2025, 9, 22, 10, minute));
  const offsetMinutes = zone === 'Z' ? 0 : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  const local = new Date(utc.getTime() + offsetMinutes * 60_000).toISOString().slice(0, 19);
  return `${local}${zone}`;
}

function eventNumber(index: number) {
  return event({
    topic: topics[index % 3]!,
    event_id: `e-${index}`,
    timestamp: timestampOf(index % 60, zones[index % 3 === 0 ? (index >> 2) % 3 : 0]!),
    source: sources[(index >> 1) % 3]!,
    payload: { request_id: `r-${index % 17}`, user: { id: index % 5 }, plain: index % 7 === 0 ? 'seven' : 'other' },
  });
}

const toQuery = (filter: Filter, limit: number, cursor: string | null): string => {
  const params = new URLSearchParams({ limit: String(limit) });
  if (filter.topic) params.set('topic', filter.topic);
  if (filter.since) params.set('since', filter.since);
  if (filter.until) params.set('until', filter.until);
  if (filter.source) params.set('source', filter.source);
  for (const [name, value] of Object.entries(filter.fields ?? {})) params.set(`payload.${name}`, value);
  if (cursor) params.set('after', cursor);
  return params.toString();
};

function matches(stored: any, filter: Filter): boolean {
  const time = Date.parse(stored.timestamp);
  if (filter.topic && stored.topic !== filter.topic) return false;
  if (filter.since && time < Date.parse(filter.since)) return false;
  if (filter.until && time >= Date.parse(filter.until)) return false;
  if (filter.source && stored.source !== filter.source) return false;
  for (const [name, value] of Object.entries(filter.fields ?? {})) {
    const found = name.split('.').reduce((node: any, key) => node?.[key], stored.payload);
    if (String(found) !== value) return false;
  }
  return true;
}

/** Follows `next` until a short page that is not partial: everything matching so far. */
async function pageThrough(url: string, filter: Filter, limit: number): Promise<{ events: any[]; pages: number; partials: number; through: number }> {
  const events: any[] = [];
  let cursor: string | null = null;
  let pages = 0;
  let partials = 0;
  for (;;) {
    const page: { status: number; body: any } = await getJson(`${url}/events?${toQuery(filter, limit, cursor)}`);
    assert.equal(page.status, 200, JSON.stringify(page.body));
    pages++;
    if (page.body.partial) partials++;
    events.push(...page.body.events);
    assert.equal(typeof page.body.next, 'string', 'a filtered page always has a cursor');
    cursor = page.body.next;
    if (!page.body.partial && page.body.count < limit) return { events, pages, partials, through: decodeCursor(cursor!) };
  }
}

const filters: fc.Arbitrary<Filter> = fc.record(
  {
    topic: fc.constantFrom(...topics),
    since: fc.integer({ min: 0, max: 59 }).map((minute) => timestampOf(minute, '+02:00')),
    until: fc.integer({ min: 0, max: 60 }).map((minute) => timestampOf(minute, 'Z')),
    source: fc.constantFrom(...sources),
    fields: fc.record({ request_id: fc.integer({ min: 0, max: 17 }).map((n) => `r-${n}`), 'user.id': fc.integer({ min: 0, max: 5 }).map(String), plain: fc.constantFrom('seven', 'other') }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);

describe('search filters', () => {
  let server: TestServer;
  let stored: any[];
  before(async () => {
    server = await startServer({ shards: 3, args: ['--index-field', 'request_id,user.id'] });
    const all = Array.from({ length: 3000 }, (_, index) => eventNumber(index));
    for (let start = 0; start < all.length; start += 500) assert.equal((await publish(server.url, all.slice(start, start + 500))).status, 200);
    stored = await allEvents(server.url);
  });
  after(async () => {
    await server.stop();
  });

  test('paging through any filter gives exactly the brute-force matches, in seq order (property)', async () => {
    await fc.assert(
      fc.asyncProperty(filters, fc.integer({ min: 1, max: 300 }), async (filter, limit) => {
        const { events } = await pageThrough(server.url, filter, limit);
        assert.deepEqual(
          events.map((item) => item.seq),
          stored.filter((item) => matches(item, filter)).map((item) => item.seq),
          JSON.stringify(filter),
        );
      }),
      { numRuns: 40 },
    );
  });

  test('relative times, and bad filters are 400 invalid_query', async () => {
    const recent = await getJson(`${server.url}/events?since=-1h&limit=5`);
    assert.equal(recent.body.count, 0, 'every event here is from 2025');
    const old = await getJson(`${server.url}/events?until=-1h&limit=5`);
    assert.equal(old.body.count, 5);
    for (const query of ['since=yesterday', 'until=-5x', 'payload.a..b=1', 'payload.$where=1', 'source=', 'payload.a=1&payload.b=1&payload.c=1&payload.d=1&payload.e=1']) {
      const reply = await getJson(`${server.url}/events?${query}`);
      assert.deepEqual([reply.status, reply.body.error.code], [400, 'invalid_query'], query);
    }
  });

  test('/tail with a filter replays and then follows only the matches', async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${server.port}/tail?topic=orders&payload.plain=seven&after=djE6MA`);
    const received: any[] = [];
    const expected = stored.filter((item) => matches(item, { topic: 'orders', fields: { plain: 'seven' } })).length + 2;
    const done = new Promise<void>((resolve, reject) => {
      socket.on('message', (data) => {
        received.push(...JSON.parse(String(data)).events);
        if (received.length >= expected) resolve();
      });
      socket.on('error', reject);
    });
    await new Promise((resolve) => socket.once('open', resolve));
    // Live: two matches among non-matches.
    await publish(server.url, [
      event({ topic: 'orders', event_id: 'live-1', payload: { plain: 'seven' } }),
      event({ topic: 'orders', event_id: 'live-2', payload: { plain: 'other' } }),
      event({ topic: 'web', event_id: 'live-3', payload: { plain: 'seven' } }),
      event({ topic: 'orders', event_id: 'live-4', payload: { plain: 'seven' } }),
    ]);
    await done;
    socket.close();
    assert.equal(received.length, expected);
    assert.ok(received.every((item) => item.topic === 'orders' && item.payload.plain === 'seven'));
    assert.deepEqual(received.slice(-2).map((item) => item.event_id), ['live-1', 'live-4']);
    const seqs = received.map((item) => item.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'in seq order, no repeat');
  });
});

describe('bounded scans', () => {
  test('a rare match past the scan bound: partial pages carry the cursor on, nothing skipped or repeated while publishing goes on', async () => {
    const server = await startServer({ shards: 2 });
    try {
      const batch = (from: number) => Array.from({ length: 1000 }, (_, index) => event({ topic: 'big', event_id: `b-${from + index}`, payload: { rare: (from + index) % 9000 === 4321 ? 'yes' : 'no' } }));
      for (let from = 0; from < 40_000; from += 1000) assert.equal((await publish(server.url, batch(from))).status, 200);
      // Publishing goes on while the filter is paged.
      let publishing = true;
      let next = 40_000;
      const writer = (async () => {
        while (publishing) {
          await publish(server.url, batch(next));
          next += 1000;
        }
      })();
      const { events, partials, through } = await pageThrough(server.url, { topic: 'big', fields: { rare: 'yes' } }, 10);
      publishing = false;
      await writer;
      assert.ok(partials > 0, 'some page stopped at the scan bound');
      const ids = events.map((item) => item.event_id);
      assert.equal(new Set(ids).size, ids.length, 'no repeat');
      // Every match up to where the paging ended was served.
      const all = await allEvents(server.url, 'big');
      const expected = all.filter((item) => item.payload.rare === 'yes' && item.seq <= through).map((item) => item.event_id);
      assert.deepEqual(ids, expected, 'no skip');
      assert.ok(ids.length >= 5, `the 40 000 first events hold 5 matches (${ids.length})`);
    } finally {
      await server.stop();
    }
  });
});
