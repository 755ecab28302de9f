import type { Config } from '../config.js';
import { DashboardAssets } from '../dashboard/assets.js';
import type { ServiceMetrics } from '../metrics/service-metrics.js';
import type { ReaderPool } from '../workers/reader-pool.js';
import type { ShardPool } from '../workers/shard-pool.js';
import { Authenticator } from './auth.js';
import { DashboardRoutes } from './dashboard-routes.js';
import { HttpServer } from './http.js';
import { openApiDocument } from './openapi.js';
import { Publisher } from './publish.js';
import { PublishRoute } from './publish-route.js';
import { ReadRoutes } from './read-routes.js';
import { Sequencer } from './sequencer.js';
import { TailHub } from './tail.js';

export interface IngressParts {
  readonly shards: ShardPool;
  readonly readers: ReaderPool;
  readonly metrics: ServiceMetrics;
  readonly name: string;
  readonly version: string;
}

export interface Ingress {
  readonly http: HttpServer;
  readonly tail: TailHub;
}

/** Assembles the ingress thread: seq assignment, publish, reads, tail, dashboard, behind one uWS app. */
export function createIngress(config: Config, parts: IngressParts): Ingress {
  const { shards, readers, metrics } = parts;
  const sequencer = new Sequencer(shards.totals.lastSeq);
  const publish = new PublishRoute(new Publisher(config, shards, sequencer), config);
  const auth = new Authenticator(config);
  const openApi = openApiDocument({ version: parts.version, maxBatch: config.maxBatch, maxBodyBytes: config.maxBodyBytes });
  const read = new ReadRoutes({ shards, readers, sequencer, metrics, inFlight: () => publish.inFlight, openApi });
  const dashboard = new DashboardRoutes({ assets: DashboardAssets.load(), openApi, shards: config.shards, name: parts.name, version: parts.version });
  const tail = new TailHub(
    { maxBacklogBytes: config.tailBacklogBytes, pageSize: config.tailPageSize, maxEventBytes: config.maxEventBytes },
    { sequencer, auth, page: (task) => readers.page(task) },
  );
  metrics.watch({
    topics: () => shards.totals.topics,
    rejected: () => shards.totals.rejected,
    shards: () => shards.shardStats(),
    inFlight: () => publish.inFlight,
    watermark: () => sequencer.watermark,
    tailSubscribers: () => tail.subscriberCount,
  });
  const http = new HttpServer(config, { publish, read, tail, auth, dashboard }, {
    retryAfterSeconds: config.retryAfterSeconds,
    onAnswer: (route, status, seconds) => {
      metrics.request(route, status);
      if (route === 'publish') metrics.publishDuration(seconds);
    },
  });
  return { http, tail };
}
