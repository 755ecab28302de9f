import { tailUrl } from './api.js';
import type { StoredEvent } from './api-types.js';
import { TailStream, type TailState } from './tail-stream.js';
import { connectWebSocket, topicPattern } from './tail-view.js';

export interface LiveQuery {
  /** A topic, a glob of one, or null for every topic. */
  readonly topic: string | null;
  /** What /tail filters by besides the topic: q, since, until. */
  readonly filters: Readonly<Record<string, string>>;
  /** Where the stream starts (a /stats cursor), null: from now. */
  readonly startCursor: string | null;
}

/**
 * Follows a search over /tail?q=, started at once. The stream is the Tail view's (no loss or
 * repeat across reconnects); /tail takes one topic by name, so a glob is applied here to what the
 * query's stream delivers, with the service's own glob rules.
 */
export function followSearch(query: LiveQuery, onEvents: (events: readonly StoredEvent[]) => void, onState: (state: TailState, detail: string) => void): TailStream {
  const { topic } = query;
  const stream = new TailStream({
    topic: topic !== null && topicPattern.test(topic) ? topic : null,
    url: (name, after) => tailUrl(name, after, query.filters),
    connect: connectWebSocket,
    onEvents: (events) => onEvents(topic === null ? events : events.filter((event) => globMatches(topic, event.topic))),
    onState,
    startCursor: query.startCursor,
  });
  stream.start();
  return stream;
}

/** The service's topic glob (src/search/match.ts, copied: the bundle takes nothing of the server but types): `*` is any run of characters; no regex, so no pattern can blow up. */
export function globMatches(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.length && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (star >= 0) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}
