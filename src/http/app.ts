import type { Config } from '../config.js';
import { DashboardAssets } from '../dashboard/assets.js';
import type { RouteInfo } from '../dashboard/service-info.js';
import type { GroupView } from '../events/responses.js';
import { IngestPipeline } from '../ingest/pipeline.js';
import { RateHistory } from '../ingest/rate-history.js';
import { storedOf, type Storage } from '../ingest/storage.js';
import { TailHub } from '../ingest/tail-hub.js';
import type { ServiceMetrics } from '../metrics/service-metrics.js';
import { Authenticator } from './auth.js';
import { DashboardHandlers } from './dashboard-handlers.js';
import { openApiDocument } from './openapi.js';
import { ElasticsearchHandlers } from './elasticsearch-handlers.js';
import { deleteHandler } from './admin-handler.js';
import { lokiHandler } from './loki-handler.js';
import { otlpHandler } from './otlp-handler.js';
import { publishHandler } from './publish-handler.js';
import { ReadHandlers } from './read-handlers.js';
import { elasticsearchAtRoot, routeTable } from './routes.js';
import { HttpServer, type HttpOptions } from './server.js';
import { TailSocket } from './tail-socket.js';
import { GroupService, largestGroups } from '../delivery/group-service.js';
import { GroupHandlers } from './group-handlers.js';
import { ConsumeSocket } from './consume-socket.js';
import { Uploads } from './upload.js';

export interface ServiceIdentity {
  readonly name: string;
  readonly version: string;
}

export interface HttpApp {
  readonly server: HttpServer;
  /** The Elasticsearch API at the root of its own port (`--elasticsearch-port`); null when off. */
  readonly elasticsearchServer: HttpServer | null;
  readonly tail: TailHub;
  readonly groups: GroupService;
  /** The counters' recent history (/stats?history=1): started once the server listens, closed with it. */
  readonly rates: RateHistory;
}

/**
 * Assembles the ingress thread over a storage engine: the ingest pipeline, the read and dashboard
 * handlers, the tail hub, the route table and the uWS server that serves it. The engine is only
 * reached through the `Storage` seam.
 */
/** What the listeners report: the outcome of each TLS certificate reload. */
export type TlsReloadListener = (listener: string, outcome: { readonly ok: true } | { readonly ok: false; readonly error: string }) => void;

export function createHttpApp(config: Config, storage: Storage, metrics: ServiceMetrics, identity: ServiceIdentity, onTlsReload: TlsReloadListener = () => {}): HttpApp {
  const { commitPath, watermark, pages, stats } = storage;
  const pipeline = new IngestPipeline(config, commitPath);
  const uploads = new Uploads(config);
  const elasticsearch = new ElasticsearchHandlers({ pipeline, name: identity.name, shards: commitPath.shardCount, sourceField: config.elasticsearchSourceField, problems: () => commitPath.problems() });
  const tail = new TailHub({ maxBacklogBytes: config.tailBacklogBytes, pageSize: config.tailPageSize }, watermark, pages);
  const tailSocket = new TailSocket(tail, { maxBacklogBytes: config.tailBacklogBytes, pageSize: config.tailPageSize, maxEventBytes: config.maxEventBytes });
  const groups = new GroupService({
    commitPath,
    pages,
    watermark,
    publish: (events) => pipeline.ingestEvents(events, false, 'publish').then(() => undefined),
    maxEventBytes: config.maxEventBytes,
  });
  const rates = new RateHistory(() => stats.totals());
  let openApi = '';
  let routeList: readonly RouteInfo[] = [];
  const read = new ReadHandlers({
    watermark,
    pages,
    stats,
    shardCount: commitPath.shardCount,
    problems: () => commitPath.problems(),
    inFlight: () => uploads.inFlight,
    protocols: () => pipeline.tally.entries(),
    statsTopics: config.statsTopics,
    searchBounds: { maxRows: config.searchMaxRows, timeoutMs: config.searchTimeoutMs },
    metrics: () => metrics.render(),
    groups: () => groups.listed(),
    openApi: () => openApi,
    rateHistory: () => rates.snapshot(),
  });
  const dashboard = new DashboardHandlers({ assets: DashboardAssets.load(), routes: () => routeList, shards: config.shards, ...identity });
  const otlp = otlpHandler(pipeline, { topicAttribute: config.otlpTopicAttribute });
  const loki = lokiHandler(pipeline, { topicLabels: config.lokiTopicLabels }, config.maxBodyBytes);
  const groupHandlers = new GroupHandlers(groups);
  const consume = new ConsumeSocket(groups);
  const routes = routeTable({ uploads, publish: publishHandler(pipeline), elasticsearch, otlp, loki, deletion: deleteHandler(commitPath), read, dashboard, tail: tailSocket, groups: groupHandlers, consume }, config);
  openApi = openApiDocument(routes, identity);
  routeList = routes.filter((route) => !route.unlisted).map(({ method, path, summary }) => ({ method, path, summary }));
  metrics.watch({
    topics: () => {
      // Bounded cardinality: the largest topics, then everything else as one series.
      const totals = stats.topics();
      const top = stats.topTopics(config.metricsTopics).map((topic) => [topic, totals.get(topic)!] as const);
      if (stats.topicCount() <= top.length) return top;
      const all = stats.totals();
      const other = { received: all.received, unique: all.unique, duplicates: all.duplicates };
      for (const [, counts] of top) {
        other.received -= counts.received;
        other.unique -= counts.unique;
        other.duplicates -= counts.duplicates;
      }
      return [...top, ['_other', other] as const];
    },
    rejected: () => stats.totals().rejected,
    storage: () => {
      const totals = stats.totals();
      return { stored: storedOf(totals), expired: totals.expired, deleted: totals.deleted };
    },
    shards: () => stats.shardStatus(),
    disk: () => stats.disk(),
    inFlight: () => uploads.inFlight,
    watermark: () => watermark.current,
    tailSubscribers: () => tail.subscriberCount,
    protocols: () => pipeline.tally.entries(),
    cluster: () => stats.cluster(),
    groups: () => groupSeries(groups.recent(), config.metricsTopics),
  });
  const auth = new Authenticator(config);
  const replies = {
    retryAfterSeconds: config.retryAfterSeconds,
    onAnswer: (route: string, status: number, seconds: number) => {
      metrics.request(route, status);
      if (route === 'publish') metrics.publishDuration(seconds);
    },
  };
  const tls = (listener: string): HttpOptions['tls'] =>
    config.tlsCert === ''
      ? null
      : { certFile: config.tlsCert, keyFile: config.tlsKey, clientCaFile: config.tlsClientCa || null, reloadMs: config.tlsReloadMs, onReload: (outcome) => onTlsReload(listener, outcome) };
  const server = new HttpServer({ ...config, tls: tls('main') }, routes, auth, replies);
  const elasticsearchServer = config.elasticsearchPort >= 0 ? new HttpServer({ ...config, port: config.elasticsearchPort, tls: tls('elasticsearch') }, elasticsearchAtRoot(routes), auth, replies) : null;
  return { server, elasticsearchServer, tail, groups, rates };
}

/** Bounded cardinality, as for topics: the groups with the most pending, then the rest as one series. */
function groupSeries(views: readonly GroupView[], limit: number): [string, GroupView['state']][] {
  const top = largestGroups(views, limit);
  const series = top.map((view): [string, GroupView['state']] => [view.name, view.state]);
  if (views.length <= top.length) return series;
  const named = new Set(top.map((view) => view.name));
  const other = { delivered: 0, acked: 0, redelivered: 0, dead_lettered: 0, skipped: 0, pending: 0, lag: 0, ack_floor: '', consumers: 0 };
  for (const { name, state } of views) {
    if (named.has(name)) continue;
    for (const key of ['delivered', 'acked', 'redelivered', 'dead_lettered', 'skipped', 'pending', 'lag', 'consumers'] as const) other[key] += state[key];
  }
  return [...series, ['_other', other]];
}
