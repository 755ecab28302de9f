/**
 * What the HTTP and ingest layers call, and nothing more: the seam between them and a storage
 * engine. Four parts, cut along what ingress does:
 *
 *   CommitPath   room checks, queueing a request's frames, the verdicts, rejected counts, problems
 *   Watermark    the committed frontier readers may see, and its advances
 *   PageSource   pages of committed events after a cursor, up to the watermark
 *   StatsSource  the counters, per topic and per shard
 *
 * The embedded engine (`src/embedded`) implements them with the rings, the shard workers, the
 * sequencer and the reader threads; a cluster engine implements the same four over NATS JetStream.
 * Nothing here imports an engine.
 */
import type { CursorVersion } from '../events/cursor.js';
import type { DeletionSelector } from '../events/deletion-selector.js';
import type { DyingMessage, GroupCommand, GroupReply, GroupShardState } from '../groups/model.js';
import type { EventFilter } from '../events/query.js';
import type { ClusterHealth, SearchHistogram, SearchTop, ShardStatus } from '../events/responses.js';
import type { SearchQuery } from '../search/query.js';
import type { HistogramQuery, SearchPageQuery, TopQuery } from '../search/request.js';

export type { ShardStatus };

/** The events of one request bound for one shard: msgpack records (see ring/codec.ts), copied as one frame. */
export interface ShardFrame {
  readonly shard: number;
  readonly chunks: readonly Uint8Array[];
  readonly bodyLength: number;
  /** Request positions of the frame's events, ascending: verdicts go back in request order. */
  readonly indexes: readonly number[];
}

/** Whether a shard can take a frame of some size right now. */
export type RoomCheck = 'ok' | 'full' | 'failed' | 'too_large' | 'disk_full';

export interface CommitRequest {
  readonly eventCount: number;
  readonly wantsStatuses: boolean;
}

export interface RequestVerdict {
  /** Events stored for the first time; the rest of the request were duplicates. */
  readonly unique: number;
  /** Per event in request order: 1 stored, 0 duplicate; only when asked for. */
  readonly statuses: Uint8Array | null;
}

/** What an admin deletion removes: a topic's events received in a range, or a list of its ids. */
export type DeletionRequest = DeletionSelector;

export interface DeletionResult {
  readonly deleted: number;
  /** A shard reached the per-call limit: call again for the rest (a repeat is harmless). */
  readonly more: boolean;
}

export interface CommitPath {
  readonly shardCount: number;
  /** The largest frame one shard can ever hold, bytes of records: past it a request is 413. */
  readonly frameCapacity: number;
  /** Free bytes across every shard: a cheap bound to refuse work before parsing it. */
  freeBytes(): number;
  check(shard: number, bodyLength: number): RoomCheck;
  /**
   * Queues every frame of one request; the caller checked each in the same synchronous turn, so a
   * request is queued whole or not at all. Settles once every frame is committed (or one failed:
   * then with an `overloaded` error, and nothing of the request is acknowledged). Event `i` of
   * the request gets seq `firstSeq + i`, assigned here.
   */
  commit(frames: readonly ShardFrame[], request: CommitRequest): Promise<RequestVerdict>;
  /** Counts events refused by validation; made durable with a later commit. */
  recordRejected(count: number): void;
  /** Why writes are refused right now; empty when every shard commits. */
  /**
   * Removes stored events by selector, through the same rings as commits (so in order with them);
   * settles once every shard applied it. Identities are kept unless `forget`.
   */
  delete(request: DeletionRequest): Promise<DeletionResult>;
  /**
   * Runs a consumer group command on one shard, in order with its commits (cluster mode: through
   * the shard's log, so every replica applies it alike); settles with the writer's answer once the
   * command is as durable as a commit.
   */
  groupCommand(shard: number, command: GroupCommand): Promise<GroupReply>;
  problems(): readonly string[];
}

export interface Watermark {
  /** Every accepted event at or below this seq is committed; readers see nothing above it. */
  readonly current: number;
  /** The cursors this engine hands out and takes: its seqs mean something only to it. */
  readonly cursorVersion: CursorVersion;
  /** Runs after every advance. */
  onAdvance(listener: () => void): void;
}

export interface PageQuery {
  readonly topic: string | null;
  /** Search filters; null: every event. A filtered page examines a bounded number of rows. */
  readonly filter: EventFilter | null;
  /** /tail's `q` (search's grammar), checked per row by the matcher within the same bounded scan; absent or null: none. */
  readonly search?: SearchQuery;
  /** Events with seq strictly greater than this. */
  readonly afterSeq: number;
  /** The watermark the page is read at: nothing above it. */
  readonly maxSeq: number;
  readonly limit: number;
}

export interface Page {
  /** The events, already rendered as a JSON array. */
  readonly eventsJson: string;
  readonly count: number;
  readonly lastSeq: number | null;
  /**
   * Every match with a seq up to this one is in this page or before it: the cursor to go on from.
   * A full page: its last seq. A short one: the watermark, or, when a filtered scan stopped at its
   * row bound first, where the scan got to (`partial`).
   */
  readonly through: number;
  readonly partial: boolean;
}

/** A page of topics by name, from the shard files (off the ingress thread). */
export interface TopicQuery {
  /** Topics strictly after this name; null: from the first. */
  readonly after: string | null;
  /** Only names that start with this; null: all. */
  readonly prefix: string | null;
  readonly limit: number;
}

export interface TopicRow {
  readonly topic: string;
  readonly received: number;
  readonly unique: number;
  readonly duplicates: number;
  readonly expired: number;
  readonly deleted: number;
}

/** A page of /search: the events rendered, and the seq its `next` cursor carries. */
export interface SearchResult {
  readonly eventsJson: string;
  readonly count: number;
  /** null: the query is exhausted in this order. */
  readonly next: number | null;
  readonly partial: boolean;
}

export interface PageSource {
  /** Rejects with `overloaded` when too many reads are already queued. */
  page(query: PageQuery): Promise<Page>;
  search(query: SearchPageQuery): Promise<SearchResult>;
  /** Counted per shard in parallel reader threads, then merged. */
  histogram(query: HistogramQuery): Promise<SearchHistogram>;
  top(query: TopQuery): Promise<SearchTop>;
  /** Counts summed over the shards, in name order. */
  topics(query: TopicQuery): Promise<TopicRow[]>;
  /** Every consumer group's state in one shard (or just `name`'s). */
  groups(shard: number, name: string | null): Promise<GroupShardState[]>;
  /** What the dead letters of one shard's dying messages carry. */
  dying(shard: number, name: string, seqs: readonly number[]): Promise<DyingMessage[]>;
}

export interface TopicTotals {
  received: number;
  unique: number;
  duplicates: number;
}

export interface CounterTotals extends TopicTotals, TopicLosses {
  rejected: number;
}

/** Events a topic no longer stores: expired by retention, or deleted (see `storedOf`). */
export interface TopicLosses {
  expired: number;
  deleted: number;
}

/** What a topic (or the whole service) stores now: every unique event, less those expired or deleted. */
export function storedOf(counts: { readonly unique: number } & Readonly<TopicLosses>): number {
  return counts.unique - counts.expired - counts.deleted;
}

/** The counts as the API names them (unique_processed, duplicate_dropped). */
export function publicCounts(counts: Readonly<TopicTotals>): { received: number; unique_processed: number; duplicate_dropped: number } {
  return { received: counts.received, unique_processed: counts.unique, duplicate_dropped: counts.duplicates };
}

export interface StatsSource {
  totals(): Readonly<CounterTotals>;
  topics(): ReadonlyMap<string, Readonly<TopicTotals>>;
  /** The topics with the most events received, most first, at most `limit` (≤ 1000): O(limit), not O(topics). */
  topTopics(limit: number): string[];
  /** Only the topics that lost any events; every other topic stores all its unique ones. */
  losses(): ReadonlyMap<string, Readonly<TopicLosses>>;
  /** How many topics there are. */
  topicCount(): number;
  /**
   * Resolves once the per-topic counts above are recent enough to answer from; null when they
   * already are (always, on a node that holds every shard: its own counters are the topics').
   */
  fresh(): Promise<void> | null;
  shardStatus(): ShardStatus[];
  /** The data dir's file system as last read (twice a second), against the --min-free-bytes floor. */
  disk(): DiskReading;
  /** Cluster mode: this node's part in the cluster, for /health; null for a single node. */
  cluster(): ClusterHealth | null;
}

export interface DiskReading {
  /** Bytes free to this user on the data dir's file system; null when it could not be read. */
  readonly free_bytes: number | null;
  /** The floor below which writes are refused (503 disk_full); 0 when there is none. */
  readonly min_free_bytes: number;
}

/** A storage engine: the four parts, and its two shutdown verbs. */
export interface Storage {
  readonly commitPath: CommitPath;
  readonly watermark: Watermark;
  readonly pages: PageSource;
  readonly stats: StatsSource;
  /** Graceful: refuses new frames, commits and settles every queued one, then closes. */
  close(): Promise<void>;
  /** Abrupt: queued frames fail, nothing further is acknowledged. */
  destroy(): Promise<void>;
}
