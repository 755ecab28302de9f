import { globMatches } from '../../search/glob.js';
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
