import { Piscina } from 'piscina';
import { OverloadedError } from '../errors.js';
import type { SearchHistogram, SearchTop } from '../events/responses.js';
import type { Page, PageQuery, PageSource, SearchResult, TopicQuery, TopicRow } from '../ingest/storage.js';
import { valueFieldName, type HistogramQuery, type SearchPageQuery, type TopQuery } from '../search/request.js';
import type { DyingMessage, GroupShardState } from '../store/group-reads.js';
import type { PagePart, SearchPart, VolumePart, VolumeQuery } from '../store/read-parts.js';
import { mergeHistogram, type HistogramPart } from '../store/search-counts.js';
import { mergeTop, type TopPart } from '../store/search-top.js';
import type { SnapshotFile } from '../store/shard-snapshot.js';
import type { ShardCount, ShardsRead } from './page-worker.js';
import type { PageWorkerData } from './protocol.js';
import { workerFile } from './worker-file.js';

export interface PagePoolOptions {
  readonly dataDir: string;
  readonly shards: number;
  readonly readers: number;
}

/** Reader threads with read-only shard connections: /events and /tail pages are built off the ingress thread. */
export class PagePool implements PageSource {
  readonly #pool: Piscina;
  readonly #maxQueue: number;
  readonly #shards: number;
  readonly #readers: number;

  constructor(options: PagePoolOptions) {
    const workerData: PageWorkerData = { dataDir: options.dataDir, shardCount: options.shards };
    this.#maxQueue = options.readers * 256;
    this.#shards = options.shards;
    this.#readers = options.readers;
    this.#pool = new Piscina({
      filename: workerFile('page-worker'),
      name: 'page',
      minThreads: options.readers,
      maxThreads: options.readers,
      idleTimeout: Number.POSITIVE_INFINITY,
      workerData,
    });
  }

  /** Resolves once every reader thread has loaded its code and opened its connections (one task each: a busy thread takes no second one). */
  async ready(): Promise<void> {
    await Promise.all(Array.from({ length: this.#readers }, () => this.#pool.run(null, { name: 'open' })));
  }

  /** Rejects with OverloadedError when too many reads are already queued: reads are bounded too. */
  page(query: PageQuery): Promise<Page> {
    return this.#run(query, 'page') as Promise<Page>;
  }

  topics(query: TopicQuery): Promise<TopicRow[]> {
    return this.#run(query, 'topics') as Promise<TopicRow[]>;
  }

  search(query: SearchPageQuery): Promise<SearchResult> {
    return this.#run(query, 'search') as Promise<SearchResult>;
  }

  async histogram(query: HistogramQuery): Promise<SearchHistogram> {
    return mergeHistogram(query, await Promise.all(this.#eachShard((shard) => this.histogramPart(shard, query))));
  }

  async top(query: TopQuery): Promise<SearchTop> {
    return mergeTop(valueFieldName(query.field), query.limit, await Promise.all(this.#eachShard((shard) => this.topPart(shard, query))));
  }

  // Shards' parts of a read: a cluster node serves them for the shards it holds, and the asking node
  // merges them (store/read-parts.ts, mergeHistogram, mergeTop). Pages, searches and topics: one
  // task for all the shards asked (a task's hand-off costs more than a short page); counts: a task each.

  pageParts(shards: readonly number[], query: PageQuery): Promise<PagePart[]> {
    return this.#run({ shards, query } satisfies ShardsRead<PageQuery>, 'pageParts') as Promise<PagePart[]>;
  }

  searchParts(shards: readonly number[], query: SearchPageQuery): Promise<SearchPart[]> {
    return this.#run({ shards, query } satisfies ShardsRead<SearchPageQuery>, 'searchParts') as Promise<SearchPart[]>;
  }

  topicsParts(shards: readonly number[], query: TopicQuery): Promise<TopicRow[][]> {
    return this.#run({ shards, query } satisfies ShardsRead<TopicQuery>, 'topicsParts') as Promise<TopicRow[][]>;
  }

  /** Each shard's largest topics by volume and its topic count, or the rows of the named topics. */
  volumeParts(shards: readonly number[], query: VolumeQuery): Promise<VolumePart[]> {
    return this.#run({ shards, query } satisfies ShardsRead<VolumeQuery>, 'volumeParts') as Promise<VolumePart[]>;
  }

  /** Reads the shard's share of the rows bound, as when the pool runs every shard's. */
  histogramPart(shard: number, query: HistogramQuery): Promise<HistogramPart> {
    return this.#run(this.#shardCount(shard, query), 'histogram') as Promise<HistogramPart>;
  }

  topPart(shard: number, query: TopQuery): Promise<TopPart> {
    return this.#run(this.#shardCount(shard, query), 'top') as Promise<TopPart>;
  }

  #shardCount<Query extends { readonly maxRows: number }>(shard: number, query: Query): ShardCount<Query> {
    return { shard, query, rows: Math.ceil(query.maxRows / this.#shards) };
  }

  /** One task per shard, in parallel on the reader threads. */
  #eachShard<Part>(part: (shard: number) => Promise<Part>): Promise<Part>[] {
    return Array.from({ length: this.#shards }, (_, shard) => part(shard));
  }

  #run(task: unknown, name: string): Promise<unknown> {
    if (this.#pool.queueSize >= this.#maxQueue) return Promise.reject(new OverloadedError('too many reads in flight'));
    return this.#pool.run(task, { name });
  }

  /** Every group's state (or `name`'s) in one shard. */
  groups(shard: number, name: string | null): Promise<GroupShardState[]> {
    return this.#run({ shard, name }, 'groups') as Promise<GroupShardState[]>;
  }

  /** What the dead letters of one shard's dying messages carry. */
  dying(shard: number, name: string, seqs: readonly number[]): Promise<DyingMessage[]> {
    return this.#run({ shard, name, seqs }, 'dying') as Promise<DyingMessage[]>;
  }

  /** Writes a snapshot of one shard to `to` in a reader thread (cluster mode). */
  snapshot(shard: number, to: string): Promise<SnapshotFile> {
    return this.#pool.run({ shard, to }, { name: 'snapshot' }) as Promise<SnapshotFile>;
  }

  destroy(): Promise<void> {
    return this.#pool.destroy();
  }
}
