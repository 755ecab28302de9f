import pino, { type Logger } from 'pino';
import type { Config } from './config.js';
import { DashboardAssets } from './dashboard/assets.js';
import { builtPackage } from './dashboard/service-info.js';
import { Authenticator } from './ingress/auth.js';
import { DashboardRoutes } from './ingress/dashboard-routes.js';
import { HttpServer } from './ingress/http.js';
import { openApiDocument } from './ingress/openapi.js';
import { Publisher } from './ingress/publish.js';
import { PublishRoute } from './ingress/publish-route.js';
import { ReadRoutes } from './ingress/read-routes.js';
import { Sequencer } from './ingress/sequencer.js';
import { TailHub } from './ingress/tail.js';
import { ServiceMetrics } from './metrics/service-metrics.js';
import { lockDataDir, prepareDataDir } from './store/data-dir.js';
import { ReaderPool } from './workers/reader-pool.js';
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
  readonly #readers: ReaderPool;
  readonly #tail: TailHub;
  readonly #unlock: () => void;
  readonly #logger: Logger;
  #closing: Promise<void> | null = null;

  private constructor(port: number, http: HttpServer, shards: ShardPool, readers: ReaderPool, tail: TailHub, unlock: () => void, logger: Logger) {
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
    let readers: ReaderPool | null = null;
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
      readers = new ReaderPool({ dataDir: config.dataDir, shards: config.shards, readers: config.readers });
      const sequencer = new Sequencer(shards.totals.lastSeq);
      const publish = new PublishRoute(new Publisher(config, shards, sequencer), config);
      const totals = shards.totals;
      const pool = shards;
      metrics.watch({
        topics: () => totals.topics,
        rejected: () => totals.rejected,
        shards: () => pool.shardStats(),
        inFlight: () => publish.inFlight,
        watermark: () => sequencer.watermark,
      });
      // The version the build stamped from package.json, unless the caller names one.
      const version = options.version ?? builtPackage.version;
      const openApi = openApiDocument({ version, maxBatch: config.maxBatch, maxBodyBytes: config.maxBodyBytes });
      const read = new ReadRoutes({
        shards,
        readers,
        sequencer,
        metrics,
        inFlight: () => publish.inFlight,
        openApi,
      });
      const dashboard = new DashboardRoutes({
        assets: DashboardAssets.load(),
        openApi,
        shards: config.shards,
        name: builtPackage.name,
        version,
      });
      const auth = new Authenticator(config);
      const readerPool = readers;
      const tail = new TailHub(
        { maxBacklogBytes: config.tailBacklogBytes, pageSize: config.tailPageSize, maxEventBytes: config.maxEventBytes },
        { sequencer, auth, page: (task) => readerPool.page(task) },
      );
      const http = new HttpServer(config, { publish, read, tail, auth, dashboard }, {
        retryAfterSeconds: config.retryAfterSeconds,
        onAnswer: (route, status, seconds) => {
          metrics.request(route, status);
          if (route === 'publish') metrics.publishDuration(seconds);
        },
      });
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
