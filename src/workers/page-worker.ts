/**
 * Runs inside a reader thread: serves /events, /tail and /search pages and search's counts from
 * read-only connections, so that large reads never run on the ingress thread, and takes cluster
 * snapshots. Connections open on the first task.
 */
import { workerData } from 'piscina';
import type { Page, PageQuery, SearchResult, TopicQuery, TopicRow } from '../ingest/storage.js';
import type { HistogramQuery, SearchPageQuery, TopQuery } from '../search/request.js';
import { shardPath } from '../store/data-dir.js';
import { EventPages } from '../store/event-pages.js';
import { dyingMessages, groupStates, type DyingMessage, type GroupShardState } from '../store/group-reads.js';
import { renderEvents, type PagePart, type SearchPart, type VolumePart, type VolumeQuery } from '../store/read-parts.js';
import { histogramOfShard, type Budget, type HistogramPart } from '../store/search-counts.js';
import { topOfShard, type TopPart } from '../store/search-top.js';
import { searchPage, searchPart as searchPartOf } from '../store/search-pages.js';
import { ShardReaders } from '../store/shard-readers.js';
import { snapshotShardFile, type SnapshotFile } from '../store/shard-snapshot.js';
import type { PageWorkerData } from './protocol.js';

let readers: ShardReaders | null = null;
let pages: EventPages | null = null;

function opened(): { readers: ShardReaders; pages: EventPages } {
  if (!readers || !pages) {
    const data = workerData as PageWorkerData;
    readers = new ShardReaders(data.dataDir, data.shardCount);
    pages = new EventPages(readers);
  }
  return { readers, pages };
}

/** At start (PagePool.ready): the connections open before the first read needs them. */
export function open(): void {
  opened();
}

export function topics(query: TopicQuery): TopicRow[] {
  return opened().pages.topics(query);
}

export function page(query: PageQuery): Page {
  const { rows, through, partial } = opened().pages.page(query);
  return { eventsJson: renderEvents(rows), count: rows.length, lastSeq: rows.length > 0 ? rows[rows.length - 1]!.seq : null, through, partial };
}

export function search(query: SearchPageQuery): SearchResult {
  const { rows, next, partial } = searchPage(opened().readers, query);
  return { eventsJson: renderEvents(rows), count: rows.length, next, partial };
}

/** One shard's part of a read, for a merge elsewhere (read-parts.ts): a cluster node asks the holder of each shard. */
export interface ShardRead<Query> {
  readonly shard: number;
  readonly query: Query;
}

/** Several shards' parts in one task: a cluster node answers for all the shards it is asked for at once. */
export interface ShardsRead<Query> {
  readonly shards: readonly number[];
  readonly query: Query;
}

export function topicsParts(task: ShardsRead<TopicQuery>): TopicRow[][] {
  return task.shards.map((shard) => opened().pages.topicsPart(shard, task.query));
}

export function volumeParts(task: ShardsRead<VolumeQuery>): VolumePart[] {
  return task.shards.map((shard) => opened().pages.volumePart(shard, task.query.limit, task.query.names));
}

export function pageParts(task: ShardsRead<PageQuery>): PagePart[] {
  return task.shards.map((shard) => opened().pages.pagePart(shard, task.query));
}

export function searchParts(task: ShardsRead<SearchPageQuery>): SearchPart[] {
  // Each shard's deadline counts from its own start, as when the shards are asked one by one.
  return task.shards.map((shard) => searchPartOf(opened().readers, shard, task.query));
}

/** One shard's part of a histogram or top: the pool runs the shards in parallel and merges. */
export interface ShardCount<Query> extends ShardRead<Query> {
  /** This shard's share of the rows bound. */
  readonly rows: number;
}

function budget(rows: number, timeoutMs: number): Budget {
  return { rows, deadline: performance.now() + timeoutMs };
}

export function histogram(task: ShardCount<HistogramQuery>): HistogramPart {
  return histogramOfShard(opened().readers, task.shard, task.query, budget(task.rows, task.query.timeoutMs));
}

export function top(task: ShardCount<TopQuery>): TopPart {
  return topOfShard(opened().readers, task.shard, task.query, budget(task.rows, task.query.timeoutMs));
}

export function groups(task: { readonly shard: number; readonly name: string | null }): GroupShardState[] {
  return groupStates(opened().readers, task.shard, task.name);
}

export function dying(task: { readonly shard: number; readonly name: string; readonly seqs: readonly number[] }): DyingMessage[] {
  return dyingMessages(opened().readers, task.shard, task.name, task.seqs);
}

/** A shard's snapshot (cluster mode), off the ingress thread: it reads the whole file. */
export function snapshot(task: { readonly shard: number; readonly to: string }): SnapshotFile {
  return snapshotShardFile(shardPath((workerData as PageWorkerData).dataDir, task.shard), task.to);
}

export function close(): void {
  readers?.close();
  readers = null;
  pages = null;
}

