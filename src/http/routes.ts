/**
 * The route table: every route the service answers, once. `HttpServer` registers it with uWS
 * (auth check, 404/405 with `Allow`, metrics label), `openApiDocument` describes it, and `GET /`
 * lists it. Adding a route is adding an entry here.
 */
import { kDefaultLimit, kMaxLimit } from '../events/query.js';
import { kDefaultBuckets, kDefaultTopLimit, kMaxBuckets, kMaxTopLimit } from '../search/request.js';
import type { Route } from './route.js';
import type { DashboardHandlers } from './dashboard-handlers.js';
import { jsonContent, refusals } from './openapi.js';
import { elasticProductHeaders, type ElasticsearchHandlers } from './elasticsearch-handlers.js';
import type { ReadHandlers } from './read-handlers.js';
import type { TailSocket } from './tail-socket.js';
import { groupRoutes, type GroupRouteHandlers } from './group-routes.js';
import type { UploadHandler, Uploads } from './upload.js';

export interface RouteHandlers extends GroupRouteHandlers {
  readonly uploads: Uploads;
  readonly publish: UploadHandler;
  readonly elasticsearch: ElasticsearchHandlers;
  readonly otlp: UploadHandler;
  readonly loki: UploadHandler;
  readonly deletion: UploadHandler;
  readonly read: ReadHandlers;
  readonly dashboard: DashboardHandlers;
  readonly tail: TailSocket;
}

export interface ApiLimits {
  readonly maxBatch: number;
  readonly maxBodyBytes: number;
}

const queryParameter = (name: string, schema: Record<string, unknown>, description?: string) => ({ name, in: 'query', required: false, schema, ...(description ? { description } : {}) });
const topicParameter = queryParameter('topic', { type: 'string' });
const searchParameters = [
  queryParameter('since', { type: 'string' }, 'event timestamp at or after: RFC 3339, or an age such as -15m'),
  queryParameter('until', { type: 'string' }, 'event timestamp before: RFC 3339, or an age such as -15m'),
  queryParameter('source', { type: 'string' }),
  { name: 'payload', in: 'query', required: false, style: 'deepObject', explode: true, schema: { type: 'object', additionalProperties: { type: 'string' } }, description: 'payload.<path>=<value>: field equality, up to 4' },
];
const queryTextParameter = queryParameter('q', { type: 'string', maxLength: 1024 }, 'the query: words, "phrases", pre*, -word / NOT, OR, ( ), field:value, field:>N (docs/API.md, Search)');
/** What /search and its counts filter by. */
const searchFilterParameters = [
  queryTextParameter,
  queryParameter('topic', { type: 'string' }, 'a topic, or a glob with * (auth.*, *.prod)'),
  queryParameter('since', { type: 'string' }, 'event timestamp at or after: RFC 3339, or an age such as -15m'),
  queryParameter('until', { type: 'string' }, 'event timestamp before: RFC 3339, or an age such as -15m'),
];
const protobufOrJson = { required: true, content: { 'application/x-protobuf': { schema: { type: 'string', format: 'binary' } }, 'application/json': { schema: { type: 'object' } } } };
const uploadRefusals = ['unauthorized', 'forbidden', 'too_large', 'overloaded', 'disk_full'] as const;
const readRefusals = refusals('invalid_query', 'unauthorized', 'forbidden');

export function routeTable(handlers: RouteHandlers, limits: ApiLimits): readonly Route[] {
  const { uploads, publish, read, dashboard, tail, elasticsearch: es, otlp, loki, deletion } = handlers;
  const esRoute = (route: Omit<Route, 'headers' | 'label'> & { label?: string }): Route => ({ label: 'elasticsearch', ...route, headers: elasticProductHeaders });
  const bulkOperation = {
    description:
      'Elasticsearch-compatible `_bulk` (NDJSON action and document lines). `create` and `index` store each (index, _id) once; `create` of a stored id ' +
      'is item 409 `version_conflict_engine_exception`, `index` of one is item 200 `updated` with nothing changed (the first copy wins); `delete` and ' +
      '`update` are item 400. See docs/API.md for the mapping to events.',
    requestBody: { required: true, content: { 'application/x-ndjson': { schema: { type: 'string' } } } },
    responses: { 200: { description: 'per-item results, `errors` true when any item failed' }, ...refusals('bad_json', 'bad_encoding', 'unsupported_media_type', ...uploadRefusals) },
  };
  return [
    { method: 'GET', path: '/', label: 'dashboard', scope: null, summary: 'This service description (JSON), or the dashboard for a browser (Accept: text/html)', handle: (_res, req, reply) => dashboard.root(req, reply) },
    { method: 'GET', path: '/docs', label: 'dashboard', scope: null, summary: 'API reference page, rendered from /openapi.json', handle: (_res, _req, reply) => dashboard.docs(reply) },
    { method: 'GET', path: '/openapi.json', label: 'openapi', scope: null, summary: 'The OpenAPI 3.1 document of this API', handle: (_res, _req, reply) => read.openApi(reply) },
    {
      method: 'POST',
      path: '/publish',
      label: 'publish',
      scope: 'publish',
      summary: 'Publish one event or a batch; answered once every event is committed',
      operation: {
        parameters: [queryParameter('results', { type: 'string', enum: ['1', 'true'] }, 'add a per-event verdict')],
        requestBody: {
          required: true,
          description: `One event or an array of 1..${limits.maxBatch}; at most ${limits.maxBodyBytes} bytes. Also application/x-ndjson (one event per line) and application/msgpack.`,
          content: {
            'application/json': { schema: { oneOf: [{ $ref: '#/components/schemas/Event' }, { type: 'array', minItems: 1, maxItems: limits.maxBatch, items: { $ref: '#/components/schemas/Event' } }] } },
            'application/x-ndjson': { schema: { type: 'string' } },
            'application/msgpack': { schema: { type: 'string', format: 'binary' } },
          },
        },
        responses: {
          200: { description: 'committed', content: jsonContent('PublishResult') },
          ...refusals('bad_json', 'bad_encoding', 'unsupported_media_type', 'invalid_event', ...uploadRefusals),
        },
      },
      handle: uploads.route(publish),
    },
    {
      method: 'GET',
      path: '/events',
      label: 'events',
      scope: 'read',
      summary: 'Stored events in acceptance (seq) order, with a tail-able cursor',
      operation: {
        parameters: [
          topicParameter,
          queryParameter('limit', { type: 'integer', minimum: 1, maximum: kMaxLimit, default: kDefaultLimit }),
          queryParameter('after', { type: 'string' }, 'the `next` of a previous page'),
          ...searchParameters,
        ],
        responses: { 200: { description: 'a page', content: jsonContent('EventsPage') }, ...readRefusals },
      },
      handle: (_res, req, reply) => read.events(req, reply),
    },
    {
      method: 'GET',
      path: '/tail',
      label: 'tail',
      scope: 'read',
      queryToken: true,
      summary: 'WebSocket: replay after a cursor, then live events, in seq order',
      operation: {
        description:
          'Upgrade to a WebSocket (OpenAPI has no WebSocket object, so this describes it). Each server message is a text frame ' +
          '`{"events": [StoredEvent...], "next": "<cursor after the last of them>"}`. The stream replays committed events after `after` ' +
          '(absent: from now on), then follows commits, with no gap and no repeat; with `q`, only the events that match it. A subscriber whose unread backlog passes the limit is ' +
          'closed with code 4008 and reason `too_slow`; reconnecting with its last `next` resumes without loss.',
        parameters: [topicParameter, queryParameter('after', { type: 'string' }), ...searchParameters, queryTextParameter, queryParameter('access_token', { type: 'string' }, 'the read token, for clients that cannot set headers')],
        responses: { 101: { description: 'switching to the WebSocket protocol' }, ...readRefusals },
      },
      handle: { upgrade: (res, req, context, reply) => tail.upgrade(res, req, context, reply), behavior: () => tail.behavior() },
    },
    {
      method: 'GET',
      path: '/search',
      label: 'search',
      scope: 'read',
      summary: 'Events matching a query, newest first (or oldest first), exact up to the commit watermark',
      operation: {
        description:
          'Every committed event that satisfies q, topic, since and until, in seq order: desc (newest accepted first) or asc. Work per page is ' +
          'bounded: a page that hit the bound before filling says `partial: true`, and `next` goes on from where it stopped. Paging never skips or ' +
          'repeats a match, also while publishing goes on.',
        parameters: [
          ...searchFilterParameters,
          queryParameter('order', { type: 'string', enum: ['desc', 'asc'], default: 'desc' }),
          queryParameter('limit', { type: 'integer', minimum: 1, maximum: kMaxLimit, default: kDefaultLimit }),
          queryParameter('after', { type: 'string' }, 'the `next` of a previous page (same query, same order)'),
        ],
        responses: { 200: { description: 'a page', content: jsonContent('SearchPage') }, ...readRefusals },
      },
      handle: (_res, req, reply) => read.search(req, reply),
    },
    {
      method: 'GET',
      path: '/search/histogram',
      label: 'search_histogram',
      scope: 'read',
      summary: 'How many events match, per bucket of event time, optionally split by a field',
      operation: {
        description:
          'Counts by the event timestamp over [since, until) (default: the last hour) in `buckets` equal buckets (or of `step`). With by=topic, ' +
          'source or payload.<path>, each bucket splits into the 10 largest values overall and `_other`. Exact; a count that would read more ' +
          'than --search-max-rows events, or run past --search-timeout-ms, answers with what it counted and `partial: true`.',
        parameters: [
          ...searchFilterParameters,
          queryParameter('buckets', { type: 'integer', minimum: 1, maximum: kMaxBuckets, default: kDefaultBuckets }),
          queryParameter('step', { type: 'string' }, 'a bucket width instead of a count: 10s, 1m, 1h'),
          queryParameter('by', { type: 'string' }, 'topic, source or payload.<path>'),
        ],
        responses: { 200: { description: 'counts per bucket', content: jsonContent('SearchHistogram') }, ...readRefusals },
      },
      handle: (_res, req, reply) => read.histogram(req, reply),
    },
    {
      method: 'GET',
      path: '/search/top',
      label: 'search_top',
      scope: 'read',
      summary: 'The most frequent values of a field among the events that match',
      operation: {
        description:
          "An event counts under its topic, its source, or the first string, number or boolean its payload path reaches; `other` counts the " +
          'matching events under no listed value. Exact, bounded as the histogram is.',
        parameters: [
          queryParameter('field', { type: 'string', default: 'topic' }, 'topic, source or payload.<path>'),
          ...searchFilterParameters,
          queryParameter('limit', { type: 'integer', minimum: 1, maximum: kMaxTopLimit, default: kDefaultTopLimit }),
        ],
        responses: { 200: { description: 'the top values', content: jsonContent('SearchTop') }, ...readRefusals },
      },
      handle: (_res, req, reply) => read.top(req, reply),
    },
    {
      method: 'GET',
      path: '/stats',
      label: 'stats',
      scope: 'read',
      summary: 'Cumulative counters for the data dir',
      operation: {
        parameters: [queryParameter('history', { type: 'string', enum: ['1', 'true'] }, 'add `history`: how the counters grew over the last 15 minutes, second by second')],
        responses: { 200: { description: 'counters', content: jsonContent('Stats') } },
      },
      handle: (_res, req, reply) => read.stats(req, reply),
    },
    {
      method: 'GET',
      path: '/topics',
      label: 'topics',
      scope: 'read',
      summary: 'Every topic with exact counts, page by page: by name (with a prefix filter), or the largest by volume',
      operation: {
        description:
          'Name order reads the shard files on a reader thread: any number of topics, O(page) per page; `next` is the last name. ' +
          'Volume order lists the largest topics (at most 1000, the ones the service keeps ranked); `next` is an offset.',
        parameters: [
          queryParameter('sort', { type: 'string', enum: ['name', 'volume'], default: 'name' }),
          queryParameter('prefix', { type: 'string' }, 'only topics whose name starts with it'),
          queryParameter('limit', { type: 'integer', minimum: 1, maximum: kMaxLimit, default: kDefaultLimit }),
          queryParameter('after', { type: 'string' }, 'the `next` of a previous page'),
        ],
        responses: { 200: { description: 'a page', content: jsonContent('TopicsPage') }, ...readRefusals },
      },
      handle: (_res, req, reply) => read.topics(req, reply),
    },
    {
      method: 'GET',
      path: '/health',
      label: 'health',
      scope: null,
      summary: 'Whether every shard is open and committing',
      operation: { responses: { 200: { description: 'ok', content: jsonContent('Health') }, 503: { description: 'unavailable, with the reason', content: jsonContent('Health') } } },
      handle: (_res, _req, reply) => read.health(reply),
    },
    {
      method: 'GET',
      path: '/metrics',
      label: 'metrics',
      scope: 'read',
      summary: 'Prometheus text exposition',
      operation: { responses: { 200: { description: 'metrics', content: { 'text/plain': { schema: { type: 'string' } } } } } },
      handle: (_res, _req, reply) => read.metrics(reply),
    },
    esRoute({ method: 'GET', path: '/es', scope: null, summary: 'Elasticsearch-compatible node info, for shippers pointed at /es', operation: { responses: { 200: { description: 'version.number and tagline, as Elasticsearch answers' } } }, handle: (_res, _req, reply) => es.info(reply) }),
    esRoute({ method: 'GET', path: '/es/', scope: null, unlisted: true, summary: 'The same, with a trailing slash', handle: (_res, _req, reply) => es.info(reply) }),
    esRoute({ method: 'HEAD', path: '/es', scope: null, summary: 'Elasticsearch-compatible ping', handle: (_res, _req, reply) => es.present(reply) }),
    esRoute({ method: 'HEAD', path: '/es/', scope: null, unlisted: true, summary: 'The same, with a trailing slash', handle: (_res, _req, reply) => es.present(reply) }),
    esRoute({ method: 'GET', path: '/es/_cluster/health', scope: null, summary: 'Elasticsearch-compatible cluster health: green while every shard commits', operation: { responses: { 200: { description: 'status green or red' } } }, handle: (_res, _req, reply) => es.clusterHealth(reply) }),
    esRoute({
      method: 'GET',
      path: '/es/_cat/health',
      scope: null,
      summary: 'Elasticsearch-compatible cat health: one line of text, or JSON with ?format=json',
      operation: {
        parameters: [
          queryParameter('format', { type: 'string', enum: ['text', 'json'], default: 'text' }),
          queryParameter('v', { type: 'boolean' }, 'print the column names first'),
          queryParameter('h', { type: 'string' }, 'the columns to print, comma-separated'),
        ],
        responses: { 200: { description: 'epoch, timestamp, cluster, status (green or red), node.total … active_shards_percent, as Elasticsearch prints them' } },
      },
      handle: (_res, req, reply) => es.catHealth(new URLSearchParams(req.getQuery() ?? ''), reply),
    }),
    esRoute({ method: 'HEAD', path: '/es/_cat/health', scope: null, summary: 'Elasticsearch-compatible health probe', handle: (_res, _req, reply) => es.present(reply) }),
    esRoute({ method: 'POST', path: '/es/_bulk', label: 'es_bulk', scope: 'publish', summary: 'Elasticsearch-compatible _bulk: each (index, _id) stored once', operation: bulkOperation, handle: uploads.route(es.bulk) }),
    esRoute({ method: 'POST', path: '/es/:index/_bulk', label: 'es_bulk', scope: 'publish', summary: 'Elasticsearch-compatible _bulk with a default index', operation: bulkOperation, handle: uploads.route(es.bulk, 1) }),
    {
      method: 'POST',
      path: '/v1/logs',
      label: 'otlp',
      scope: 'publish',
      summary: 'OTLP/HTTP logs (protobuf or JSON): each log record stored once',
      operation: {
        description:
          'OpenTelemetry `ExportLogsServiceRequest`. A record\'s `log.record.uid` attribute is its event_id (absent: a hash of the record); ' +
          'the topic is a resource attribute (`--otlp-topic-attribute`, default `service.name`). The answer is an `ExportLogsServiceResponse` ' +
          'in the request\'s encoding, with `partialSuccess` counting the records that could not be stored. See docs/API.md for the mapping.',
        requestBody: protobufOrJson,
        responses: {
          200: { description: 'committed; `partialSuccess` when records were refused' },
          ...refusals('bad_json', 'bad_encoding', 'unsupported_media_type', ...uploadRefusals),
        },
      },
      handle: uploads.route(otlp),
    },
    {
      method: 'POST',
      path: '/loki/api/v1/push',
      label: 'loki',
      scope: 'publish',
      summary: 'Loki push (JSON or snappy protobuf): each entry stored once',
      operation: {
        description:
          'Loki `PushRequest`: JSON, or snappy-compressed protobuf for any other Content-Type (as Loki). The event_id is a hash of the stream ' +
          'labels, timestamp and line, so a resent entry is a duplicate; the topic is the service of the stream as Loki 3 names it: the first present of `--loki-topic-labels` (default `service_name`, `service`, `app`, … `job`), else `unknown_service`. ' +
          'All or nothing, as /publish. See docs/API.md for the mapping.',
        requestBody: protobufOrJson,
        responses: {
          204: { description: 'every entry committed' },
          ...refusals('bad_json', 'bad_encoding', 'invalid_event', ...uploadRefusals),
        },
      },
      handle: uploads.route(loki),
    },
    {
      method: 'POST',
      path: '/admin/delete',
      label: 'admin',
      scope: 'admin',
      summary: "Delete a topic's stored events by id list or receive-time range (admin token)",
      operation: {
        description:
          'Removes stored events of one topic: `{"topic", "event_ids": [...]}` or `{"topic", "received_after", "received_before"}` (RFC 3339 or an age ' +
          'such as `-30d`; a missing bound is open). Identities are kept, so a resend is still a duplicate, unless `"forget": true`. Idempotent. ' +
          'At most 50 000 events per shard per call: `more` says to call again. Off unless the service has an --admin-token.',
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
        responses: {
          200: { description: 'applied by every shard', content: jsonContent('DeletionResult') },
          ...refusals('invalid_selector', 'bad_json', 'unauthorized', 'forbidden', 'overloaded'),
        },
      },
      handle: uploads.route(deletion),
    },
    ...groupRoutes(handlers, queryParameter),
    { method: 'GET', path: '/dashboard/*', label: 'dashboard', scope: null, unlisted: true, summary: "The dashboard's static files", handle: (_res, req, reply) => dashboard.asset(req.getUrl(), reply) },
  ];
}

/** The Elasticsearch routes without their `/es` prefix: the API at the root of `--elasticsearch-port`. */
export function elasticsearchAtRoot(routes: readonly Route[]): Route[] {
  const seen = new Set<string>();
  return routes.flatMap((route) => {
    if (route.path !== '/es' && !route.path.startsWith('/es/')) return [];
    const path = route.path === '/es' ? '/' : route.path.slice('/es'.length);
    const key = `${route.method} ${path}`;
    if (seen.has(key)) return [];
    seen.add(key);
    return [{ ...route, path }];
  });
}

