import { Piscina } from 'piscina';
import { OverloadedError } from '../errors.js';
import type { Page, PageQuery, PageSource, TopicQuery, TopicRow } from '../ingest/storage.js';
import type { SnapshotFile } from '../store/shard-snapshot.js';
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

  constructor(options: PagePoolOptions) {
    const workerData: PageWorkerData = { dataDir: options.dataDir, shardCount: options.shards };
    this.#maxQueue = options.readers * 256;
    this.#pool = new Piscina({
      filename: workerFile('page-worker'),
      name: 'page',
      minThreads: options.readers,
      maxThreads: options.readers,
      idleTimeout: Number.POSITIVE_INFINITY,
      workerData,
    });
  }

  /** Rejects with OverloadedError when too many reads are already queued: reads are bounded too. */
  page(query: PageQuery): Promise<Page> {
    if (this.#pool.queueSize >= this.#maxQueue) return Promise.reject(new OverloadedError('too many reads in flight'));
    return this.#pool.run(query, { name: 'page' }) as Promise<Page>;
  }

  topics(query: TopicQuery): Promise<TopicRow[]> {
    if (this.#pool.queueSize >= this.#maxQueue) return Promise.reject(new OverloadedError('too many reads in flight'));
    return this.#pool.run(query, { name: 'topics' }) as Promise<TopicRow[]>;
  }

  /** Writes a snapshot of one shard to `to` in a reader thread (cluster mode). */
  snapshot(shard: number, to: string): Promise<SnapshotFile> {
    return this.#pool.run({ shard, to }, { name: 'snapshot' }) as Promise<SnapshotFile>;
  }

  destroy(): Promise<void> {
    return this.#pool.destroy();
  }
}
