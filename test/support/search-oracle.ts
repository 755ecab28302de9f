/**
 * The brute-force answers /search, /search/histogram and /search/top must give: every stored event
 * (read through /events) filtered by the matcher that defines a match (src/search/match.ts), the
 * topic glob and the event-time range, then ordered, bucketed or counted here by hand.
 */
import assert from 'node:assert/strict';
import { eventTimeMs } from '../../src/events/time-bound.js';
import { globMatches } from '../../src/search/glob.js';
import { matchesQuery, valuesAt } from '../../src/search/match.js';
import { parseSearchQuery } from '../../src/search/query.js';
import { getJson } from '../../harness/http-client.js';

export interface SearchParams {
  readonly q?: string;
  readonly topic?: string;
  readonly since?: string;
  readonly until?: string;
}

export function oracleMatches(stored: readonly any[], params: SearchParams): any[] {
  const query = parseSearchQuery(params.q ?? '');
  const since = params.since === undefined ? -Infinity : Date.parse(params.since);
  const until = params.until === undefined ? Infinity : Date.parse(params.until);
  return stored.filter((event) => {
    if (params.topic !== undefined && !globMatches(params.topic, event.topic)) return false;
    const time = eventTimeMs(event.timestamp);
    if (!(time >= since && time < until)) return false;
    return matchesQuery(query, event);
  });
}

/** Pages /search to its end in one order; asserts every page's shape and that no event comes twice. */
export async function searchAll(url: string, params: SearchParams, order: 'asc' | 'desc', limit: number): Promise<{ events: any[]; pages: number }> {
  const events: any[] = [];
  const seen = new Set<number>();
  let after: string | null = null;
  for (let pages = 1; ; pages++) {
    const query = new URLSearchParams({ ...params, order, limit: String(limit) } as Record<string, string>);
    if (after !== null) query.set('after', after);
    const page = await getJson(`${url}/search?${query}`);
    assert.equal(page.status, 200, JSON.stringify(page.body));
    assert.equal(page.body.count, page.body.events.length);
    assert.ok(page.body.count <= limit);
    for (const event of page.body.events) {
      assert.ok(!seen.has(event.seq), `seq ${event.seq} came twice`);
      seen.add(event.seq);
      events.push(event);
    }
    if (page.body.next === null) return { events, pages };
    after = page.body.next;
  }
}

export function ordered(events: readonly any[], order: 'asc' | 'desc'): number[] {
  return events.map((event) => event.seq as number).sort((a, b) => (order === 'asc' ? a - b : b - a));
}

/** The histogram's buckets by hand: [since, until) in `buckets` equal parts. */
export function oracleHistogram(matches: readonly any[], since: string, until: string, buckets: number): number[] {
  const start = Date.parse(since);
  const step = (Date.parse(until) - start) / buckets;
  const counts = new Array<number>(buckets).fill(0);
  for (const event of matches) counts[Math.min(buckets - 1, Math.floor((eventTimeMs(event.timestamp) - start) / step))]!++;
  return counts;
}

/** What an event counts under in /search/top: its topic, source, or the first scalar its payload path reaches. */
export function valueOf(event: any, field: string): unknown {
  if (field === 'topic' || field === 'source') return event[field];
  return valuesAt(event.payload, field.slice('payload.'.length).split('.')).find((value) => ['string', 'number', 'boolean'].includes(typeof value));
}

export function oracleTop(matches: readonly any[], field: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const event of matches) {
    const value = valueOf(event, field);
    if (value !== undefined) counts.set(JSON.stringify(value), (counts.get(JSON.stringify(value)) ?? 0) + 1);
  }
  return counts;
}
