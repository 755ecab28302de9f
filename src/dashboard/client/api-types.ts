/** The shapes the dashboard reads, as docs/API.md describes them. */

export interface TopicCounts {
  readonly received: number;
  readonly unique_processed: number;
  readonly duplicate_dropped: number;
}

export interface ShardStatus {
  readonly shard: number;
  readonly ring_used_bytes: number;
  readonly ring_capacity_bytes: number;
  readonly pending_frames: number;
  readonly commits: number;
  readonly last_commit_ms: number;
  readonly healthy: boolean;
}

export interface Stats {
  readonly received: number;
  readonly unique_processed: number;
  readonly duplicate_dropped: number;
  readonly rejected: number;
  readonly topics: readonly string[];
  readonly uptime: number;
  readonly shards: number;
  /** Cursor at the commit watermark: "after everything committed so far". */
  readonly cursor: string;
  readonly topic_counts: Readonly<Record<string, TopicCounts>>;
  readonly shard_status: readonly ShardStatus[];
}

export interface StoredEvent {
  readonly topic: string;
  readonly event_id: string;
  readonly timestamp: string;
  readonly source: string;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly seq: number;
  readonly received_at: string;
}

export interface EventsPage {
  readonly topic: string | null;
  readonly count: number;
  readonly next: string | null;
  readonly events: readonly StoredEvent[];
}

/** One /tail WebSocket message. */
export interface TailMessage {
  readonly events: readonly StoredEvent[];
  readonly next: string;
}

export interface ServiceInfo {
  readonly name: string;
  readonly version: string;
  readonly shards: number;
  readonly uptime: number;
}
