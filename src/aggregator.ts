import pino, { type Logger } from 'pino';
import type { Config } from './config.js';
import { builtPackage } from './dashboard/service-info.js';
import { EmbeddedStorage } from './embedded/engine.js';
import { createHttpApp, type HttpApp } from './http/app.js';
import type { Storage } from './ingest/storage.js';
import { ServiceMetrics } from './metrics/service-metrics.js';
import { lockDataDir, prepareDataDir } from './store/data-dir.js';

export interface AggregatorOptions {
  readonly logger?: Logger;
  /** Reported by /openapi.json. */
  readonly version?: string;
  /** Another shard worker entry (fault-injection tests). */
  readonly shardWorkerFile?: string;
}

/**
 * The running service: the HTTP app (this thread) over a storage engine — today the embedded one:
 * rings → shard workers → one SQLite file per shard, with reader threads beside them.
 * `close()` is graceful and idempotent; `destroy()` stops at once without acknowledging anything
 * still queued.
 */
export class Aggregator {
  readonly port: number;
  /** The port of the Elasticsearch API at its root (`--elasticsearch-port`); null when off. */
  readonly elasticsearchPort: number | null;
  readonly #app: HttpApp;
  readonly #storage: Storage;
  readonly #unlock: () => void;
  readonly #logger: Logger;
  #closing: Promise<void> | null = null;
  #destroyed: Promise<void> | null = null;

  private constructor(ports: { main: number; elasticsearch: number | null }, app: HttpApp, storage: Storage, unlock: () => void, logger: Logger) {
    this.port = ports.main;
    this.elasticsearchPort = ports.elasticsearch;
    this.#app = app;
    this.#storage = storage;
    this.#unlock = unlock;
    this.#logger = logger;
  }

  static async start(config: Config, options: AggregatorOptions = {}): Promise<Aggregator> {
    const logger = options.logger ?? pino({ level: 'silent' });
    prepareDataDir(config.dataDir, config.shards);
    const unlock = lockDataDir(config.dataDir);
    const metrics = new ServiceMetrics();
    let storage: Storage | null = null;
    try {
      const hooks = {
        ...(options.shardWorkerFile ? { shardWorkerFile: options.shardWorkerFile } : {}),
        onShardError: (shard: number, message: string) => {
          if (shard >= 0) metrics.shardError(shard);
          logger.error({ shard }, `shard error: ${message}`);
        },
        onCommit: (shard: number, events: number, milliseconds: number) => metrics.commit(shard, events, milliseconds),
        onSynced: (shard: number, milliseconds: number) => metrics.walSync(shard, milliseconds),
        onNotice: (message: string) => logger.info(message),
      };
      if (config.cluster === '') storage = await EmbeddedStorage.open(config, hooks);
      else {
        // Only a cluster node loads the cluster engine, and with it `nats`.
        const { ClusterStorage } = await import('./cluster/engine.js');
        storage = await ClusterStorage.open(config, hooks);
      }
      // The version the build stamped from package.json, unless the caller names one.
      const onTlsReload = (listener: string, outcome: { readonly ok: boolean; readonly error?: string }): void => {
        if (outcome.ok) logger.info({ listener }, 'TLS certificate reloaded');
        else logger.error({ listener, err: outcome.error }, 'TLS certificate reload failed: the previous certificate stays in use');
      };
      const app = createHttpApp(config, storage, metrics, { name: builtPackage.name, version: options.version ?? builtPackage.version }, onTlsReload);
      const main = await app.server.listen();
      const elasticsearch = app.elasticsearchServer ? await app.elasticsearchServer.listen().catch((error: unknown) => {
        app.server.stopListening();
        throw error;
      }) : null;
      app.rates.start();
      return new Aggregator({ main, elasticsearch }, app, storage, unlock, logger);
    } catch (error) {
      await storage?.destroy();
      unlock();
      throw error;
    }
  }

  /** Reads the TLS certificate files again for new connections (SIGHUP); a bad file keeps the old one. */
  reloadTls(): void {
    this.#app.server.reloadTls();
    this.#app.elasticsearchServer?.reloadTls();
  }

  /** Stops accepting, commits and answers everything accepted, closes the databases. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#stopListening();
      this.#app.rates.close();
      // Waiting fetches answer now, with what they have (nothing), before the shards close under them.
      this.#app.groups.close();
      await this.#storage.close();
      this.#app.tail.closeAll();
      this.#unlock();
      this.#logger.info('closed');
    })();
    return this.#closing;
  }

  /** Stops at once, and idempotent: queued requests get 503, nothing further is acknowledged. */
  destroy(): Promise<void> {
    this.#destroyed ??= (async () => {
      this.#stopListening();
      this.#app.rates.close();
      this.#app.tail.closeAll();
      this.#app.groups.close();
      await this.#storage.destroy();
      this.#unlock();
    })();
    return this.#destroyed;
  }

  #stopListening(): void {
    this.#app.server.stopListening();
    this.#app.elasticsearchServer?.stopListening();
  }
}
