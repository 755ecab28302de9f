import { Type, type Static } from '@sinclair/typebox';
import { httpErrorCodes } from '../errors.js';
import { EventSchema } from './schema.js';

/**
 * The answers' shapes. /openapi.json is built from these schemas, and the TypeScript types the
 * routes, the metrics, the publisher client and the dashboard use are `Static<>` of them, so the
 * document, the server and its clients cannot disagree. The event schema the validator compiles
 * is reused as is.
 */

export const StoredEventSchema = Type.Composite(
  [
    Type.Omit(EventSchema, ['payload']),
    Type.Object({
      payload: Type.Object({}),
      seq: Type.Integer({ minimum: 1, description: 'Acceptance order, global across topics and shards' }),
      received_at: Type.String({ format: 'date-time', description: 'When the aggregator accepted the event (UTC, ms)' }),
    }),
  ],
  { $id: 'StoredEvent' },
);

export const PublishResultSchema = Type.Object(
  {
    accepted: Type.Integer({ minimum: 1 }),
    unique: Type.Integer({ minimum: 0 }),
    duplicates: Type.Integer({ minimum: 0 }),
    results: Type.Optional(
      Type.Array(
        Type.Object({ topic: Type.String(), event_id: Type.String(), status: Type.Union([Type.Literal('stored'), Type.Literal('duplicate')]) }),
        { description: 'With ?results=1: one verdict per event, in request order' },
      ),
    ),
  },
  { $id: 'PublishResult' },
);

export const ErrorSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.Union(httpErrorCodes.map((code) => Type.Literal(code)), { description: 'Stable; see docs/API.md' }),
      message: Type.String(),
      details: Type.Optional(Type.Array(Type.Object({ index: Type.Integer(), path: Type.String(), message: Type.String() }))),
    }),
  },
  { $id: 'Error' },
);

export const EventsPageSchema = Type.Object(
  {
    topic: Type.Union([Type.String(), Type.Null()]),
    count: Type.Integer({ minimum: 0 }),
    next: Type.Union([Type.String(), Type.Null()], { description: 'Pass back as `after`; null only on an empty unfiltered page' }),
    partial: Type.Optional(Type.Boolean({ description: 'Filtered pages: the scan stopped at its row bound before the page filled; go on with `next`' })),
    events: Type.Array(Type.Ref('StoredEvent')),
  },
  { $id: 'EventsPage' },
);

export const SearchPageSchema = Type.Object(
  {
    count: Type.Integer({ minimum: 0 }),
    next: Type.Union([Type.String(), Type.Null()], {
      description: 'Pass back as `after` with the same query and order; null only when the query is exhausted in that order (asc: keep the last `next`, later events come after it)',
    }),
    partial: Type.Boolean({ description: 'The page stopped at its work bound before it filled; go on with `next`' }),
    events: Type.Array(Type.Ref('StoredEvent')),
  },
  { $id: 'SearchPage' },
);

export const SearchHistogramSchema = Type.Object(
  {
    since: Type.String({ format: 'date-time' }),
    until: Type.String({ format: 'date-time' }),
    step_seconds: Type.Number(),
    total: Type.Integer({ minimum: 0 }),
    partial: Type.Boolean({ description: 'The count stopped at --search-max-rows or --search-timeout-ms: what was counted so far' }),
    buckets: Type.Array(
      Type.Object({
        start: Type.String({ format: 'date-time' }),
        count: Type.Integer({ minimum: 0 }),
        by: Type.Optional(Type.Record(Type.String(), Type.Integer(), { description: 'With by=: the 10 largest values overall, and _other' })),
      }),
    ),
  },
  { $id: 'SearchHistogram' },
);

export const SearchTopSchema = Type.Object(
  {
    field: Type.String(),
    total: Type.Integer({ minimum: 0, description: 'matching events' }),
    partial: Type.Boolean({ description: 'The count stopped at --search-max-rows or --search-timeout-ms: what was counted so far' }),
    values: Type.Array(Type.Object({ value: Type.Union([Type.String(), Type.Number(), Type.Boolean()]), count: Type.Integer({ minimum: 1 }) })),
    other: Type.Integer({ minimum: 0, description: 'matching events whose value is not listed, or that have none' }),
  },
  { $id: 'SearchTop' },
);

const TopicCountsSchema = Type.Object({ received: Type.Integer(), unique_processed: Type.Integer(), duplicate_dropped: Type.Integer() });

/** The doors events come in by, each counted on its own in /stats and /metrics. */
export const ingestProtocols = ['publish', 'elasticsearch', 'otlp', 'loki'] as const;

const ProtocolCountsSchema = Type.Object({
  requests: Type.Integer({ description: 'requests that reached a verdict (committed, or refused for their content)' }),
  received: Type.Integer(),
  unique_processed: Type.Integer(),
  duplicate_dropped: Type.Integer(),
  rejected: Type.Integer(),
});

const TopicStorageSchema = Type.Object({ stored: Type.Integer(), expired: Type.Integer(), deleted: Type.Integer() });

const ShardStatusSchema = Type.Object({
  shard: Type.Integer(),
  ring_used_bytes: Type.Integer(),
  ring_capacity_bytes: Type.Integer(),
  pending_frames: Type.Integer(),
  commits: Type.Integer(),
  last_commit_ms: Type.Number(),
  healthy: Type.Boolean(),
  search_pending: Type.Integer({ description: 'events committed and not yet in the search index (searched by scan meanwhile, so answers stay exact)' }),
});

const GroupStatsSchema = Type.Object({
  pending: Type.Integer(),
  lag: Type.Integer(),
  delivered: Type.Integer(),
  acked: Type.Integer(),
  redelivered: Type.Integer(),
  dead_lettered: Type.Integer(),
});

const StatsHistorySchema = Type.Object(
  {
    interval_ms: Type.Integer({ minimum: 1, description: 'the length of each interval, ms (1000)' }),
    capacity: Type.Integer({ minimum: 1, description: 'the most intervals kept (900: 15 minutes); older ones are dropped' }),
    end_uptime: Type.Number({ description: 'when the newest interval ended, seconds on the same clock as `uptime`' }),
    end_counts: Type.Object(
      { received: Type.Integer(), unique_processed: Type.Integer(), duplicate_dropped: Type.Integer() },
      { description: 'the counters at `end_uptime`; the top-level ones minus these is what came after the newest interval' },
    ),
    received: Type.Array(Type.Integer({ minimum: 0 }), {
      description: 'events received in each interval, oldest first; the last interval ends at `end_uptime`, interval i (of n) at `end_uptime - (n - 1 - i) * interval_ms / 1000`',
    }),
    unique_processed: Type.Array(Type.Integer({ minimum: 0 }), { description: 'the same for unique_processed' }),
    duplicate_dropped: Type.Array(Type.Integer({ minimum: 0 }), { description: 'the same for duplicate_dropped' }),
  },
  {
    description:
      'With ?history=1: how the counters grew in each second of the last 15 minutes (in memory: since this process started, if less), for the dashboard\'s rate chart; see docs/API.md',
  },
);

export const StatsSchema = Type.Object(
  {
    received: Type.Integer(),
    unique_processed: Type.Integer(),
    duplicate_dropped: Type.Integer(),
    rejected: Type.Integer(),
    stored: Type.Integer({ description: 'events stored now: unique_processed - expired - deleted' }),
    expired: Type.Integer({ description: 'events removed by retention (their identities are kept: a resend is a duplicate)' }),
    deleted: Type.Integer({ description: 'events removed by an admin deletion' }),
    topics: Type.Array(Type.String()),
    uptime: Type.Number({ description: 'seconds' }),
    shards: Type.Integer(),
    in_flight_requests: Type.Integer(),
    watermark_seq: Type.Integer(),
    cursor: Type.String({ description: 'A cursor at the watermark: pass it as `after` to /events or /tail for what commits from now on' }),
    topic_counts: Type.Record(Type.String(), TopicCountsSchema),
    topics_truncated: Type.Optional(Type.Literal(true, { description: 'Present past --stats-topics topics: `topics` and `topic_counts` hold only the largest; GET /topics pages through all' })),
    topic_count: Type.Optional(Type.Integer({ description: 'With topics_truncated: how many topics there are' })),
    shard_status: Type.Array(ShardStatusSchema),
    topic_storage: Type.Record(Type.String(), TopicStorageSchema, { description: 'Only topics that lost events to retention or deletion; any other topic stores all its unique_processed' }),
    groups: Type.Record(Type.String(), GroupStatsSchema, { description: 'Consumer groups, at most --stats-topics of them (the most pending first): what each holds and has done' }),
    protocols: Type.Object(Object.fromEntries(ingestProtocols.map((protocol) => [protocol, ProtocolCountsSchema])) as Record<(typeof ingestProtocols)[number], typeof ProtocolCountsSchema>, {
      description: 'Events by the protocol that brought them, since this process started (not persisted; the totals above are)',
    }),
    history: Type.Optional(StatsHistorySchema),
  },
  { $id: 'Stats' },
);

export const DeletionResultSchema = Type.Object(
  {
    deleted: Type.Integer({ minimum: 0, description: 'stored events removed by this call' }),
    more: Type.Boolean({ description: 'a shard reached its per-call limit: call again for the rest' }),
  },
  { $id: 'DeletionResult' },
);

/** A consumer group as GET /groups/{name} answers it: its definition, defaults filled in, and its state. */
export const GroupSchema = Type.Object(
  {
    name: Type.String(),
    topics: Type.Array(Type.String()),
    start: Type.Union([Type.Literal('earliest'), Type.Literal('latest'), Type.Object({ after: Type.String() }), Type.Object({ since: Type.String() })]),
    ack_wait_ms: Type.Integer(),
    max_deliver: Type.Integer(),
    max_pending: Type.Integer(),
    backoff_ms: Type.Array(Type.Integer()),
    state: Type.Object({
      delivered: Type.Integer({ description: 'messages delivered at least once' }),
      acked: Type.Integer(),
      redelivered: Type.Integer({ description: 'deliveries after the first' }),
      dead_lettered: Type.Integer(),
      skipped: Type.Integer({ description: 'pending messages whose event expired or was deleted before their next delivery' }),
      pending: Type.Integer({ description: 'delivered and neither acked nor dead-lettered' }),
      lag: Type.Integer({ description: 'matching events not yet delivered' }),
      ack_floor: Type.String({ description: 'a cursor: every matching event at or below it is acked or dead-lettered' }),
      consumers: Type.Integer({ description: 'fetchers seen in the last minute, and open consume sockets (this node)' }),
    }),
  },
  { $id: 'Group' },
);

export const GroupListSchema = Type.Object({ groups: Type.Array(Type.Ref('Group')) }, { $id: 'GroupList' });

export const FetchResultSchema = Type.Object(
  { messages: Type.Array(Type.Object({ id: Type.String({ description: '<shard>-<seq>: names the message, not the delivery' }), delivery_count: Type.Integer(), event: Type.Ref('StoredEvent') })) },
  { $id: 'FetchResult' },
);

export const SettleResultSchema = Type.Object(
  {
    acked: Type.Optional(Type.Integer()),
    naked: Type.Optional(Type.Integer()),
    terminated: Type.Optional(Type.Integer()),
    extended: Type.Optional(Type.Integer()),
    results: Type.Array(Type.Object({ id: Type.Unknown(), status: Type.Union(['acked', 'already_acked', 'ok', 'not_pending', 'unknown'].map((status) => Type.Literal(status))) })),
  },
  { $id: 'SettleResult' },
);

export const TopicsPageSchema = Type.Object(
  {
    sort: Type.Union([Type.Literal('name'), Type.Literal('volume')]),
    count: Type.Integer({ minimum: 0 }),
    next: Type.Union([Type.String(), Type.Null()], { description: 'Pass back as `after` for the next page; null on the last' }),
    topics: Type.Array(
      Type.Object({
        topic: Type.String(),
        received: Type.Integer(),
        unique_processed: Type.Integer(),
        duplicate_dropped: Type.Integer(),
        stored: Type.Integer(),
        expired: Type.Integer(),
        deleted: Type.Integer(),
      }),
    ),
  },
  { $id: 'TopicsPage' },
);

export const ClusterHealthSchema = Type.Object(
  {
    node: Type.String({ description: 'this node\'s --node-id' }),
    nats: Type.Union([Type.Literal('connected'), Type.Literal('reconnecting'), Type.Literal('closed')], { description: 'the connection to the NATS cluster' }),
    owned: Type.Array(Type.Integer(), { description: 'shards whose lease this node holds: it ticks them' }),
    nodes: Type.Array(Type.String(), { description: 'the live aggregator nodes placement counts, this one included' }),
    replicas_per_shard: Type.Integer({ description: '--replicas: how many nodes hold each shard (every node when it is at least the node count)' }),
    rebalance: Type.Object(
      {
        started: Type.Integer({ description: 'replicas this node started since it started (shards placed on it, or moved to it)' }),
        caught_up: Type.Integer({ description: 'of those, caught up' }),
        released: Type.Integer({ description: 'replicas it let go (and emptied) once the nodes placed for them were caught up' }),
        moving: Type.Integer({ description: 'replicas started and still catching up' }),
        bytes_copied: Type.Integer({ description: 'bytes of the shard files the started replicas held once caught up' }),
        last_catch_up_seconds: Type.Number({ description: 'how long the last started replica took to catch up (0: none yet)' }),
      },
      { description: 'shard moves on this node (placement changes when nodes join or leave)' },
    ),
    replicas: Type.Array(
      Type.Object({
        shard: Type.Integer(),
        role: Type.Union([Type.Literal('owner'), Type.Literal('replica')]),
        applied: Type.Integer({ description: 'the last log position this node applied' }),
        clock: Type.Integer({ description: 'the shard\'s clock (the seq below which it holds everything)' }),
        caught_up: Type.Boolean(),
        log_first: Type.Integer({ description: 'the first position the shard\'s stream still holds (it is purged below the snapshot before the latest), as last seen; 0 before the first look' }),
        restored: Type.Integer({ description: 'how often this replica was replaced by a snapshot since the node started (a node joining empty, or away across a purge)' }),
        stream_leader: Type.Boolean({ description: 'whether the shard\'s stream had a NATS leader at the last look (once a second); false also when no server could answer' }),
      }),
      { description: 'the shards this node holds a replica of (placement, or a move still under way)' },
    ),
  },
  { description: 'cluster mode only' },
);

export const HealthSchema = Type.Object(
  { status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]), reason: Type.Optional(Type.String()), cluster: Type.Optional(ClusterHealthSchema) },
  { $id: 'Health' },
);

export type StoredEvent = Static<typeof StoredEventSchema>;
export type PublishResult = Static<typeof PublishResultSchema>;
/** `events` is a `Ref`, which Static cannot follow: spelled out here. */
export type EventsPage = Omit<Static<typeof EventsPageSchema>, 'events'> & { readonly events: readonly StoredEvent[] };
export type TopicCounts = Static<typeof TopicCountsSchema>;
export type SearchHistogram = Static<typeof SearchHistogramSchema>;
export type SearchTop = Static<typeof SearchTopSchema>;
export type ShardStatus = Static<typeof ShardStatusSchema>;
export type Stats = Static<typeof StatsSchema>;
export type StatsHistory = Static<typeof StatsHistorySchema>;
export type Health = Static<typeof HealthSchema>;
export type ClusterHealth = Static<typeof ClusterHealthSchema>;
export type TopicsPage = Static<typeof TopicsPageSchema>;
export type DeletionResult = Static<typeof DeletionResultSchema>;
export type GroupView = Static<typeof GroupSchema>;
