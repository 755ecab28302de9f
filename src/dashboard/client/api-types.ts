/**
 * The shapes the dashboard reads: the server's own response types, derived from the schemas
 * /openapi.json is built from (type-only imports: nothing of the server is bundled).
 */
export type { EventsPage, ShardStatus, Stats, StoredEvent, TopicCounts, TopicsPage } from '../../events/responses.js';
export type { ServiceInfo } from '../service-info.js';
import type { StoredEvent } from '../../events/responses.js';

/** One /tail WebSocket message. */
export interface TailMessage {
  readonly events: readonly StoredEvent[];
  readonly next: string;
}
