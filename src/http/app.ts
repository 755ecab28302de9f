import type { Config } from '../config.js';
import { DashboardAssets } from '../dashboard/assets.js';
import type { ServiceMetrics } from '../metrics/service-metrics.js';
import type { PagePool } from '../workers/page-pool.js';
import type { ShardPool } from '../workers/shard-pool.js';
import { Authenticator } from './auth.js';
import { DashboardHandlers } from './dashboard-handlers.js';
import { HttpServer } from './server.js';
import { openApiDocument } from './openapi.js';
import { IngestPipeline } from '../ingest/pipeline.js';
import { PublishHandler } from './publish-handler.js';
import { ReadHandlers } from './read-handlers.js';
import { Sequencer } from '../ingest/sequencer.js';
import { TailHub } from '../ingest/tail-hub.js';

export interface IngressParts {
  readonly shards: ShardPool;
  readonly readers: PagePool;
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
  const publish = new PublishHandler(new IngestPipeline(config, shards, sequencer), config);
  const auth = new Authenticator(config);
  const openApi = openApiDocument({ version: parts.version, maxBatch: config.maxBatch, maxBodyBytes: config.maxBodyBytes });
  const read = new ReadHandlers({ shards, readers, sequencer, metrics, inFlight: () => publish.inFlight, openApi });
  const dashboard = new DashboardHandlers({ assets: DashboardAssets.load(), openApi, shards: config.shards, name: parts.name, version: parts.version });
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
