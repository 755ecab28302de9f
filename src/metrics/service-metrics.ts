import type { ClusterHealth, GroupView } from '../events/responses.js';
import type { Protocol, ProtocolCounts } from '../ingest/protocol-tally.js';
import type { DiskReading, ShardStatus, TopicTotals } from '../ingest/storage.js';
import { Counter, Histogram, Registry, Sampled } from './registry.js';

/** What the metrics read at scrape time; the HTTP app wires these once everything exists. */
export interface MetricSources {
  readonly topics: () => Iterable<readonly [string, Readonly<TopicTotals>]>;
  readonly rejected: () => number;
  /** Events stored now, and removed by retention or deletion (totals). */
  readonly storage: () => { readonly stored: number; readonly expired: number; readonly deleted: number };
  readonly shards: () => readonly ShardStatus[];
  readonly disk: () => DiskReading;
  readonly inFlight: () => number;
  readonly watermark: () => number;
  readonly tailSubscribers: () => number;
  readonly protocols: () => Iterable<readonly [Protocol, Readonly<ProtocolCounts>]>;
  /** Cluster mode: this node's replicas; null on a single node (no series then). */
  readonly cluster: () => ClusterHealth | null;
  /** Consumer groups by name, bounded by the caller (the last known state: read behind the scrape). */
  readonly groups: () => Iterable<readonly [string, Readonly<GroupView['state']>]>;
}

const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const commitSizeBuckets = [1, 10, 100, 1_000, 10_000, 100_000];

/** The service's metrics, exposed at GET /metrics in the Prometheus text format. */
export class ServiceMetrics {
  readonly #registry = new Registry();
  readonly #startedAt = performance.now();
  readonly #requests = this.#registry.add(new Counter('aggregator_http_requests_total', 'HTTP requests answered, by route and status'));
  readonly #publishSeconds = this.#registry.add(new Histogram('aggregator_publish_duration_seconds', 'POST /publish from first byte to answer', latencyBuckets));
  readonly #commitEvents = this.#registry.add(new Histogram('aggregator_commit_events', 'events per group commit, by shard', commitSizeBuckets));
  readonly #commitSeconds = this.#registry.add(new Histogram('aggregator_commit_duration_seconds', 'time of one group commit inside the shard thread, by shard', latencyBuckets));
  readonly #walSyncSeconds = this.#registry.add(new Histogram('aggregator_wal_sync_duration_seconds', 'time of one fdatasync of a shard\'s WAL, which every acknowledgement under --sync full waits for, by shard', latencyBuckets));
  readonly #shardErrors = this.#registry.add(new Counter('aggregator_shard_errors_total', 'failed drains (commit errors or crashed threads), by shard'));
  #sources: MetricSources | null = null;

  constructor() {
    const topicSample = (pick: (counts: Readonly<TopicTotals>) => number) => () =>
      [...(this.#sources?.topics() ?? [])].map(([topic, counts]) => [{ topic }, pick(counts)] as const);
    const shardSample = (pick: (shard: ShardStatus) => number) => () =>
      (this.#sources?.shards() ?? []).map((shard) => [{ shard: shard.shard }, pick(shard)] as const);
    const registry = this.#registry;
    registry.add(new Sampled('aggregator_events_received_total', 'events accepted and committed, by topic', 'counter', topicSample((counts) => counts.received)));
    registry.add(new Sampled('aggregator_events_unique_total', 'events stored for the first time, by topic', 'counter', topicSample((counts) => counts.unique)));
    registry.add(new Sampled('aggregator_events_duplicate_total', 'events dropped as duplicates, by topic', 'counter', topicSample((counts) => counts.duplicates)));
    registry.add(new Sampled('aggregator_events_rejected_total', 'events refused by validation', 'counter', () => [[{}, this.#sources?.rejected() ?? 0]]));
    const protocolSample = (pick: (counts: Readonly<ProtocolCounts>) => number) => () => [...(this.#sources?.protocols() ?? [])].map(([protocol, counts]) => [{ protocol }, pick(counts)] as const);
    registry.add(new Sampled('aggregator_protocol_requests_total', 'ingest requests that reached a verdict, by protocol (since start)', 'counter', protocolSample((counts) => counts.requests)));
    registry.add(new Sampled('aggregator_protocol_events_received_total', 'events committed, by protocol (since start)', 'counter', protocolSample((counts) => counts.received)));
    registry.add(new Sampled('aggregator_protocol_events_unique_total', 'events stored for the first time, by protocol (since start)', 'counter', protocolSample((counts) => counts.unique)));
    registry.add(new Sampled('aggregator_protocol_events_duplicate_total', 'events dropped as duplicates, by protocol (since start)', 'counter', protocolSample((counts) => counts.duplicates)));
    registry.add(new Sampled('aggregator_protocol_events_rejected_total', 'events refused by validation, by protocol (since start)', 'counter', protocolSample((counts) => counts.rejected)));
    registry.add(new Sampled('aggregator_events_stored', 'events stored now (unique - expired - deleted)', 'gauge', () => [[{}, this.#sources?.storage().stored ?? 0]]));
    registry.add(new Sampled('aggregator_events_expired_total', 'events removed by retention; their identities are kept', 'counter', () => [[{}, this.#sources?.storage().expired ?? 0]]));
    registry.add(new Sampled('aggregator_events_deleted_total', 'events removed by an admin deletion', 'counter', () => [[{}, this.#sources?.storage().deleted ?? 0]]));
    registry.add(new Sampled('aggregator_ring_used_bytes', 'bytes queued in the shard ring', 'gauge', shardSample((shard) => shard.ring_used_bytes)));
    registry.add(new Sampled('aggregator_ring_capacity_bytes', 'capacity of the shard ring', 'gauge', shardSample((shard) => shard.ring_capacity_bytes)));
    registry.add(new Sampled('aggregator_ring_fill_ratio', 'used / capacity of the shard ring', 'gauge', shardSample((shard) => shard.ring_used_bytes / shard.ring_capacity_bytes)));
    registry.add(new Sampled('aggregator_shard_pending_frames', 'frames queued for the shard, not yet committed', 'gauge', shardSample((shard) => shard.pending_frames)));
    registry.add(new Sampled('aggregator_search_pending_events', 'events committed and not yet in the shard\'s search index (searched by scan meanwhile)', 'gauge', shardSample((shard) => shard.search_pending)));
    registry.add(new Sampled('aggregator_shard_healthy', '1 when the shard commits, 0 when it failed', 'gauge', shardSample((shard) => (shard.healthy ? 1 : 0))));
    const disk = (pick: (reading: DiskReading) => number | null) => () => {
      const value = this.#sources ? pick(this.#sources.disk()) : null;
      return value === null ? [] : [[{}, value] as const];
    };
    registry.add(new Sampled('aggregator_disk_free_bytes', 'bytes free on the data dir\'s file system (read twice a second)', 'gauge', disk((reading) => reading.free_bytes)));
    registry.add(new Sampled('aggregator_disk_min_free_bytes', 'the --min-free-bytes floor: below it writes get 503 disk_full (0: no floor)', 'gauge', disk((reading) => reading.min_free_bytes)));
    registry.add(new Sampled('aggregator_in_flight_requests', 'publish requests being read or waiting for their commit', 'gauge', () => [[{}, this.#sources?.inFlight() ?? 0]]));
    registry.add(new Sampled('aggregator_tail_subscribers', 'open /tail WebSockets', 'gauge', () => [[{}, this.#sources?.tailSubscribers() ?? 0]]));
    registry.add(new Sampled('aggregator_watermark_seq', 'highest seq visible to readers', 'gauge', () => [[{}, this.#sources?.watermark() ?? 0]]));
    const replicaSample = (pick: (replica: ClusterHealth['replicas'][number]) => number) => () =>
      (this.#sources?.cluster()?.replicas ?? []).map((replica) => [{ shard: replica.shard }, pick(replica)] as const);
    registry.add(new Sampled('aggregator_cluster_applied_position', 'cluster mode: the last log position this node applied, by shard', 'gauge', replicaSample((replica) => replica.applied)));
    registry.add(new Sampled('aggregator_cluster_log_first_position', 'cluster mode: the first position the shard\'s stream still holds (purged below it)', 'gauge', replicaSample((replica) => replica.log_first)));
    registry.add(new Sampled('aggregator_cluster_caught_up', 'cluster mode: 1 when this node\'s replica has read to the end of its log', 'gauge', replicaSample((replica) => (replica.caught_up ? 1 : 0))));
    registry.add(new Sampled('aggregator_cluster_owner', 'cluster mode: 1 when this node holds the shard\'s lease (it ticks and snapshots it)', 'gauge', replicaSample((replica) => (replica.role === 'owner' ? 1 : 0))));
    registry.add(new Sampled('aggregator_cluster_stream_leaderless', 'cluster mode: 1 when the shard\'s stream had no NATS leader at this node\'s last look (writes and reads of it stall)', 'gauge', replicaSample((replica) => (replica.stream_leader ? 0 : 1))));
    registry.add(new Sampled('aggregator_cluster_restores_total', 'cluster mode: times this node\'s replica was replaced by a snapshot since start', 'counter', replicaSample((replica) => replica.restored)));
    const rebalance = (pick: (counts: ClusterHealth['rebalance']) => number) => () => {
      const cluster = this.#sources?.cluster();
      return cluster ? [[{}, pick(cluster.rebalance)] as const] : [];
    };
    registry.add(new Sampled('aggregator_cluster_shard_moves_started_total', 'cluster mode: replicas this node started (shards placed on it as nodes joined or left)', 'counter', rebalance((counts) => counts.started)));
    registry.add(new Sampled('aggregator_cluster_shard_moves_caught_up_total', 'cluster mode: of the replicas started, those caught up', 'counter', rebalance((counts) => counts.caught_up)));
    registry.add(new Sampled('aggregator_cluster_shard_moves_released_total', 'cluster mode: replicas let go once the nodes placed for them caught up', 'counter', rebalance((counts) => counts.released)));
    registry.add(new Sampled('aggregator_cluster_shard_moves_in_progress', 'cluster mode: replicas started and still catching up', 'gauge', rebalance((counts) => counts.moving)));
    registry.add(new Sampled('aggregator_cluster_shard_move_bytes_total', 'cluster mode: bytes of shard files the started replicas held once caught up', 'counter', rebalance((counts) => counts.bytes_copied)));
    registry.add(new Sampled('aggregator_cluster_last_catch_up_seconds', 'cluster mode: how long the last started replica took to catch up', 'gauge', rebalance((counts) => counts.last_catch_up_seconds)));
    const groupSample = (pick: (state: Readonly<GroupView['state']>) => number) => () => [...(this.#sources?.groups() ?? [])].map(([group, state]) => [{ group }, pick(state)] as const);
    registry.add(new Sampled('aggregator_group_pending', 'consumer group: messages delivered and neither acked nor dead-lettered', 'gauge', groupSample((state) => state.pending)));
    registry.add(new Sampled('aggregator_group_lag', 'consumer group: matching events not yet delivered', 'gauge', groupSample((state) => state.lag)));
    registry.add(new Sampled('aggregator_group_delivered_total', 'consumer group: messages delivered at least once', 'counter', groupSample((state) => state.delivered)));
    registry.add(new Sampled('aggregator_group_acked_total', 'consumer group: messages acked (rate() of it is the ack rate)', 'counter', groupSample((state) => state.acked)));
    registry.add(new Sampled('aggregator_group_redelivered_total', 'consumer group: deliveries after the first', 'counter', groupSample((state) => state.redelivered)));
    registry.add(new Sampled('aggregator_group_dead_lettered_total', 'consumer group: messages dead-lettered into dead.<group>', 'counter', groupSample((state) => state.dead_lettered)));
    registry.add(new Sampled('aggregator_uptime_seconds', 'seconds since start', 'gauge', () => [[{}, (performance.now() - this.#startedAt) / 1000]]));
  }

  watch(sources: MetricSources): void {
    this.#sources = sources;
  }

  request(route: string, status: number): void {
    this.#requests.inc({ route, status });
  }

  publishDuration(seconds: number): void {
    this.#publishSeconds.observe(seconds);
  }

  commit(shard: number, events: number, milliseconds: number): void {
    this.#commitEvents.observe(events, { shard });
    this.#commitSeconds.observe(milliseconds / 1000, { shard });
  }

  walSync(shard: number, milliseconds: number): void {
    this.#walSyncSeconds.observe(milliseconds / 1000, { shard });
  }

  shardError(shard: number): void {
    this.#shardErrors.inc({ shard });
  }

  render(): string {
    return this.#registry.render();
  }
}
