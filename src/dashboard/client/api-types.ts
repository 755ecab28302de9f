/**
 * The shapes the dashboard reads: the server's own response types, derived from the schemas
 * /openapi.json is built from (type-only imports: nothing of the server is bundled).
 */
export type { EventsPage, GroupView, SearchHistogram, ShardStatus, Stats, StatsHistory, StoredEvent, TopicCounts, TopicsPage } from '../../events/responses.js';
export type { ServiceInfo } from '../service-info.js';
import type { Static } from '@sinclair/typebox';
import type { GroupView, SearchPageSchema, StoredEvent } from '../../events/responses.js';

/** One page of GET /search; `events` is a `Ref`, which Static cannot follow, so it is spelled out (as EventsPage is). */
export type SearchPage = Omit<Static<typeof SearchPageSchema>, 'events'> & { readonly events: readonly StoredEvent[] };

/** GET /groups; `groups` is a `Ref` too, spelled out the same way. */
export interface GroupList {
  readonly groups: readonly GroupView[];
}

/** One /tail WebSocket message. */
export interface TailMessage {
  readonly events: readonly StoredEvent[];
  readonly next: string;
}
