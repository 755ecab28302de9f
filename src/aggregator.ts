import pino, { type Logger } from 'pino';
import type { Config } from './config.js';
import { builtPackage } from './dashboard/service-info.js';
import type { HttpServer } from './http/server.js';
import { createIngress } from './http/app.js';
import type { TailHub } from './ingest/tail-hub.js';
import { ServiceMetrics } from './metrics/service-metrics.js';
import { lockDataDir, prepareDataDir } from './store/data-dir.js';
import { PagePool } from './workers/page-pool.js';
import { ShardPool } from './workers/shard-pool.js';

export interface AggregatorOptions {
  readonly logger?: Logger;
  /** Reported by /openapi.json. */
  readonly version?: string;
  /** Another shard worker entry (fault-injection tests). */
  readonly shardWorkerFile?: string;
}

/**
 * The running service: ingress (this thread) → rings → shard workers → one SQLite file per shard,
 * with reader threads beside them for /events. `close()` is graceful and idempotent;
 * `destroy()` stops at once without acknowledging anything still queued.
 */
export class Aggregator {
  readonly port: number;
  readonly #http: HttpServer;
  readonly #shards: ShardPool;
  readonly #readers: PagePool;
  readonly #tail: TailHub;
  readonly #unlock: () => void;
  readonly #logger: Logger;
  #closing: Promise<void> | null = null;

  private constructor(port: number, http: HttpServer, shards: ShardPool, readers: PagePool, tail: TailHub, unlock: () => void, logger: Logger) {
    this.port = port;
    this.#http = http;
    this.#shards = shards;
    this.#readers = readers;
    this.#tail = tail;
    this.#unlock = unlock;
    this.#logger = logger;
  }

  static async start(config: Config, options: AggregatorOptions = {}): Promise<Aggregator> {
    const logger = options.logger ?? pino({ level: 'silent' });
    prepareDataDir(config.dataDir, config.shards);
    const unlock = lockDataDir(config.dataDir);
    const metrics = new ServiceMetrics();
    let shards: ShardPool | null = null;
    let readers: PagePool | null = null;
    try {
      shards = await ShardPool.open({
        dataDir: config.dataDir,
        shards: config.shards,
        ringBytes: config.ringBytes,
        drainBytes: config.drainBytes,
        sync: config.sync,
        shardRetryMs: config.shardRetryMs,
        onShardError: (shard, message) => {
          metrics.shardError(shard);
          logger.error({ shard }, `shard error: ${message}`);
        },
        onCommit: (shard, events, milliseconds) => metrics.commit(shard, events, milliseconds),
        ...(options.shardWorkerFile ? { workerFile: options.shardWorkerFile } : {}),
      });
      readers = new PagePool({ dataDir: config.dataDir, shards: config.shards, readers: config.readers });
      // The version the build stamped from package.json, unless the caller names one.
      const { http, tail } = createIngress(config, { shards, readers, metrics, name: builtPackage.name, version: options.version ?? builtPackage.version });
      const port = await http.listen();
      return new Aggregator(port, http, shards, readers, tail, unlock, logger);
    } catch (error) {
      await readers?.destroy();
      await shards?.destroy();
      unlock();
      throw error;
    }
  }

  /** Stops accepting, commits and answers everything accepted, closes the databases. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#http.stopListening();
      await this.#shards.close();
      this.#tail.closeAll();
      await this.#readers.destroy();
      this.#unlock();
      this.#logger.info('closed');
    })();
    return this.#closing;
  }

  /** Stops at once: queued requests get 503, nothing further is acknowledged. */
  async destroy(): Promise<void> {
    this.#http.stopListening();
    this.#tail.closeAll();
    await this.#shards.destroy();
    await this.#readers.destroy();
    this.#unlock();
  }
}
