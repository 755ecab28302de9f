import { availableParallelism, hostname } from 'node:os';
import { resolve } from 'node:path';
import { Type } from '@sinclair/typebox';
import { ConfigError } from './errors.js';
import { knob, OptionSet, type OptionValues } from './options.js';
import { parseIndexFields } from './events/query.js';
import { parseDuration } from './events/time-bound.js';
import { parseRetention, parseSize } from './store/retention.js';
import { kLokiServiceLabels, parseLabelNames } from './shippers/loki-topic.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * Every knob of the service: its flag, its environment variable, its rule, its default and its
 * help line. This table is the one declaration: the Config type, its validation, `--help` and the
 * defaults come from it, and a test holds docs/CONFIGURATION.md's table to it. Adding a knob is one entry.
 */
const knobs = {
  port: knob({ flag: 'port', env: 'PORT', schema: Type.Integer({ minimum: 0, maximum: 65535 }), default: 8080, help: 'TCP port to listen on (0 = any free port)' }),
  host: knob({ flag: 'host', env: 'HOST', schema: Type.String({ minLength: 1 }), default: '0.0.0.0', help: 'address to bind' }),
  dataDir: knob({ flag: 'data-dir', env: 'DATA_DIR', schema: Type.String({ minLength: 1 }), default: './data', help: 'directory holding one SQLite file per shard' }),
  shards: knob({ flag: 'shards', env: 'SHARDS', schema: Type.Integer({ minimum: 1, maximum: 256 }), default: Math.max(1, availableParallelism()), help: 'shard count (one writer thread each); fixed for a data dir' }),
  maxBodyBytes: knob({ flag: 'max-body-bytes', env: 'MAX_BODY_BYTES', schema: Type.Integer({ minimum: 1 }), default: 16 * MiB, help: 'largest accepted request body, bytes' }),
  maxBatch: knob({ flag: 'max-batch', env: 'MAX_BATCH', schema: Type.Integer({ minimum: 1 }), default: 10_000, help: 'most events in one POST /publish' }),
  maxEventBytes: knob({ flag: 'max-event-bytes', env: 'MAX_EVENT_BYTES', schema: Type.Integer({ minimum: 256 }), default: 64 * KiB, help: 'largest event, serialised as JSON, bytes' }),
  maxPayloadDepth: knob({ flag: 'max-payload-depth', env: 'MAX_PAYLOAD_DEPTH', schema: Type.Integer({ minimum: 1, maximum: 1000 }), default: 64, help: 'deepest nesting of objects/arrays inside a payload' }),
  ringBytes: knob({ flag: 'ring-bytes', env: 'RING_BYTES', schema: Type.Integer({ minimum: 64 * KiB, maximum: 1024 * MiB }), default: 32 * MiB, help: 'capacity of each shard ring, bytes (a power of two)' }),
  drainBytes: knob({ flag: 'drain-bytes', env: 'DRAIN_BYTES', schema: Type.Integer({ minimum: 1 }), default: 4 * MiB, help: 'most frame bytes committed in one transaction (group commit cap)' }),
  sync: knob({ flag: 'sync', env: 'SYNC', schema: Type.Union([Type.Literal('full'), Type.Literal('interval'), Type.Literal('normal')]), default: 'full', help: 'full: a 200 survives power loss (its commit fsynced, fsyncs grouped off the writer); interval: a 200 at commit, fsynced within --sync-interval-ms, so a power cut loses at most that window; normal: a 200 survives a process crash only (unbounded window). Embedded mode; in cluster mode the NATS log is the durable record' }),
  syncIntervalMs: knob({ flag: 'sync-interval-ms', env: 'SYNC_INTERVAL_MS', schema: Type.Integer({ minimum: 1, maximum: 60_000 }), default: 100, help: 'with --sync interval: the longest a commit waits for its fsync, ms (the most a power cut can lose)' }),
  readers: knob({ flag: 'readers', env: 'READERS', schema: Type.Integer({ minimum: 1, maximum: 64 }), default: 2, help: 'reader threads: they serve GET /events, /tail and /search pages, and count /search/histogram and /search/top one shard per thread in parallel' }),
  maxBufferedBodyBytes: knob({ flag: 'max-buffered-body-bytes', env: 'MAX_BUFFERED_BODY_BYTES', schema: Type.Integer({ minimum: 1 }), default: 256 * MiB, help: 'request body bytes buffered across all connections before new bodies get 503' }),
  discardBytes: knob({ flag: 'discard-bytes', env: 'DISCARD_BYTES', schema: Type.Integer({ minimum: 0 }), default: 64 * MiB, help: 'bytes of an oversized body read and dropped before the connection is closed' }),
  retryAfterSeconds: knob({ flag: 'retry-after', env: 'RETRY_AFTER', schema: Type.Integer({ minimum: 1, maximum: 3600 }), default: 1, help: 'Retry-After seconds on 503' }),
  tailBacklogBytes: knob({ flag: 'tail-backlog-bytes', env: 'TAIL_BACKLOG_BYTES', schema: Type.Integer({ minimum: 1024 }), default: 1 * MiB, help: 'unread bytes a /tail subscriber may fall behind before it is closed with 4008 too_slow' }),
  tailPageSize: knob({ flag: 'tail-page-size', env: 'TAIL_PAGE_SIZE', schema: Type.Integer({ minimum: 1, maximum: 1000 }), default: 500, help: 'most events in one /tail message' }),
  publishToken: knob({ flag: 'publish-token', env: 'PUBLISH_TOKEN', schema: Type.String(), default: '', help: 'bearer token required by POST /publish (empty: open)' }),
  readToken: knob({ flag: 'read-token', env: 'READ_TOKEN', schema: Type.String(), default: '', help: 'bearer token required by reads: /events, /stats, /metrics, /tail (empty: open)' }),
  consumeToken: knob({ flag: 'consume-token', env: 'CONSUME_TOKEN', schema: Type.String(), default: '', help: 'bearer token required by the consumer group routes under /groups (the admin token works too; empty: open)' }),
  adminToken: knob({ flag: 'admin-token', env: 'ADMIN_TOKEN', schema: Type.String(), default: '', help: 'bearer token required by POST /admin/delete (empty: deletion is off)' }),
  logLevel: knob({ flag: 'log-level', env: 'LOG_LEVEL', schema: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level))), default: 'info', help: 'fatal, error, warn, info, debug, trace or silent' }),
  elasticsearchSourceField: knob({ flag: 'elasticsearch-source-field', env: 'ELASTICSEARCH_SOURCE_FIELD', schema: Type.String({ minLength: 1, maxLength: 256 }), default: 'host.name', help: 'document field (dotted path) an Elasticsearch _bulk document\'s source is read from; absent: the index name' }),
  elasticsearchPort: knob({ flag: 'elasticsearch-port', env: 'ELASTICSEARCH_PORT', schema: Type.Integer({ minimum: -1, maximum: 65535 }), default: -1, help: 'also serve the Elasticsearch-compatible API at the root of this port, for shippers that take no path prefix (-1 = off, 0 = any free port)' }),
  otlpTopicAttribute: knob({ flag: 'otlp-topic-attribute', env: 'OTLP_TOPIC_ATTRIBUTE', schema: Type.String({ minLength: 1, maxLength: 256 }), default: 'service.name', help: 'OTLP resource attribute whose value is the topic of a log record (absent: otlp)' }),
  lokiTopicLabels: knob({ flag: 'loki-topic-labels', env: 'LOKI_TOPIC_LABELS', schema: Type.String({ minLength: 1, maxLength: 4096 }), default: kLokiServiceLabels.join(','), parse: parseLabelNames, help: 'Loki stream labels, comma-separated, the first present of which names the topic of its entries, as Loki 3 derives service_name (none present: unknown_service)' }),
  tlsCert: knob({ flag: 'tls-cert', env: 'TLS_CERT', schema: Type.String(), default: '', help: 'PEM certificate (chain) file: serve HTTPS on --port and --elasticsearch-port (with --tls-key; empty: plain HTTP)' }),
  tlsKey: knob({ flag: 'tls-key', env: 'TLS_KEY', schema: Type.String(), default: '', help: 'PEM private key file of --tls-cert' }),
  tlsClientCa: knob({ flag: 'tls-client-ca', env: 'TLS_CLIENT_CA', schema: Type.String(), default: '', help: 'PEM CA bundle file: every client must present a certificate it signed (mutual TLS; empty: no client certificate asked)' }),
  tlsReloadMs: knob({ flag: 'tls-reload-ms', env: 'TLS_RELOAD_MS', schema: Type.Integer({ minimum: 0, maximum: 86_400_000 }), default: 5000, help: 'how often the TLS files are checked for a renewed certificate, which new connections then get, ms (0: only on SIGHUP)' }),
  minFreeBytes: knob({ flag: 'min-free-bytes', env: 'MIN_FREE_BYTES', schema: Type.Integer({ minimum: 0 }), default: 64 * MiB, help: 'free disk the data dir keeps: below it, writes get 503 disk_full until space comes back (0 = no floor)' }),
  indexFields: knob({ flag: 'index-field', env: 'INDEX_FIELD', schema: Type.String(), default: '', parse: parseIndexFields, help: 'payload fields to index in every shard for fast payload.<field>= lookups, comma-separated (dotted paths: user.id)' }),
  searchIndex: knob({ flag: 'search-index', env: 'SEARCH_INDEX', schema: Type.Union([Type.Literal('on'), Type.Literal('off')]), default: 'on', help: 'on: each shard writer indexes words behind its commits, in time its ring leaves idle (search scans what is not indexed yet, so answers are exact either way); off: search scans everything' }),
  searchMaxRows: knob({ flag: 'search-max-rows', env: 'SEARCH_MAX_ROWS', schema: Type.Integer({ minimum: 1000, maximum: 1_000_000_000 }), default: 2_000_000, help: 'most stored events one /search/histogram or /search/top request reads (past it: what it counted, with partial: true)' }),
  searchTimeoutMs: knob({ flag: 'search-timeout-ms', env: 'SEARCH_TIMEOUT_MS', schema: Type.Integer({ minimum: 10, maximum: 600_000 }), default: 5000, help: 'longest one search page, histogram or top request works before it answers with partial: true, ms' }),
  statsTopics: knob({ flag: 'stats-topics', env: 'STATS_TOPICS', schema: Type.Integer({ minimum: 0, maximum: 1000 }), default: 1000, help: 'most topics GET /stats lists (the largest, with topics_truncated); GET /topics pages through all' }),
  metricsTopics: knob({ flag: 'metrics-topics', env: 'METRICS_TOPICS', schema: Type.Integer({ minimum: 0, maximum: 1000 }), default: 100, help: 'topics with their own series in /metrics (the largest); the rest are summed under topic="_other"; 0: none' }),
  retention: knob({ flag: 'retention', env: 'RETENTION', schema: Type.String(), default: '', parse: (text) => parseRetention(text), help: "expire events by receive age, per topic pattern, first match wins: 'audit.*=365d,debug.*=1d,*=30d' (empty: keep everything)" }),
  retentionBytes: knob({ flag: 'retention-bytes', env: 'RETENTION_BYTES', schema: Type.String(), default: '', parse: (text) => parseRetention('', text), help: "expire a topic's oldest events past a stored size per shard, per topic pattern, first match wins: 'debug.*=1GiB,*=20GiB'" }),
  maxDataBytes: knob({ flag: 'max-data-bytes', env: 'MAX_DATA_BYTES', schema: Type.String(), default: '', parse: (text) => optional(text, parseSize, 'not a size like 50GiB'), help: 'budget of the whole data dir (e.g. 50GiB): past it the oldest events expire, whatever their topic; empty: none' }),
  forgetAfter: knob({ flag: 'forget-after', env: 'FORGET_AFTER', schema: Type.String(), default: '', parse: (text) => optional(text, parseDuration, 'not a duration like 400d'), help: 'erase the identities of expired or deleted events this long after they went (e.g. 400d), so a resend after that is stored again; empty: remember them for ever (exact dedup)' }),
  cluster: knob({ flag: 'cluster', env: 'CLUSTER', schema: Type.String(), default: '', help: 'NATS JetStream servers, comma-separated (nats://h1:4222,nats://h2:4222): run as one node of a cluster; empty: a single node, nothing of NATS loaded' }),
  nodeId: knob({ flag: 'node-id', env: 'NODE_ID', schema: Type.String({ maxLength: 64, pattern: '^[A-Za-z0-9_.-]*$' }), default: '', parse: (id) => id || `${hostname()}-${process.pid}`, help: 'this node\'s name in the cluster, unique among its nodes (empty: host name and process id)' }),
  replicas: knob({ flag: 'replicas', env: 'REPLICAS', schema: Type.Integer({ minimum: 1, maximum: 64 }), default: 2, help: 'cluster mode: aggregator nodes that hold each shard (placed by rendezvous hashing over the live nodes; at least the node count: every node holds every shard)' }),
  holdShards: knob({ flag: 'hold-shards', env: 'HOLD_SHARDS', schema: Type.Union([Type.Literal('on'), Type.Literal('off')]), default: 'on', help: 'cluster mode: off makes this node a router: it takes writes and reads for every shard and holds none (placement leaves it out)' }),
  streamReplicas: knob({ flag: 'stream-replicas', env: 'STREAM_REPLICAS', schema: Type.Integer({ minimum: 1, maximum: 5 }), default: 3, help: 'NATS nodes holding each shard\'s log (set when the streams are first made)' }),
  leaseTtlMs: knob({ flag: 'lease-ttl-ms', env: 'LEASE_TTL_MS', schema: Type.Integer({ minimum: 1000, maximum: 600_000 }), default: 15_000, help: 'how long a shard\'s ownership lasts unrenewed before another node takes it, ms (outlast a NATS failover: 15 s)' }),
  snapshotIntervalMs: knob({ flag: 'snapshot-interval-ms', env: 'SNAPSHOT_INTERVAL_MS', schema: Type.Integer({ minimum: 1000, maximum: 86_400_000 }), default: 60_000, help: 'cluster mode: how often the owner of a shard snapshots it into the object store and purges the log below the previous snapshot, ms (the log keeps about two intervals)' }),
  shardRetryMs: knob({ flag: 'shard-retry-ms', env: 'SHARD_RETRY_MS', schema: Type.Integer({ minimum: 0 }), default: 1000, help: 'after a failed commit, how long a shard refuses writes before it tries again, ms' }),
} as const;

type KnobName = keyof typeof knobs;

export type Config = Readonly<OptionValues<typeof knobs>>;

const options = new OptionSet(knobs);
export const defaults: Config = options.defaults;

/** Validates a partial config over the defaults and returns one frozen object. */
export function resolveConfig(overrides: Partial<Record<KnobName, unknown>> = {}): Config {
  const config = { ...options.resolve(overrides) };
  if (!isPowerOfTwo(config.ringBytes)) throw options.invalid('ringBytes', config.ringBytes, ' and a power of two');
  if (config.cluster !== '') checkClusterConfig(config);
  if ((config.tlsCert === '') !== (config.tlsKey === '')) throw new ConfigError('--tls-cert and --tls-key go together: give both files, or neither for plain HTTP');
  if (config.tlsClientCa !== '' && config.tlsCert === '') throw new ConfigError('--tls-client-ca needs --tls-cert and --tls-key: client certificates are asked for over TLS');
  for (const knob of ['tlsCert', 'tlsKey', 'tlsClientCa'] as const) if (config[knob] !== '') config[knob] = resolve(config[knob]);
  config.dataDir = resolve(config.dataDir);
  return Object.freeze(config);
}

export interface CommandLine {
  readonly help: boolean;
  readonly config: Config;
}

/** Reads flags, then environment variables, then defaults: a flag wins over the environment. */
export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv): CommandLine {
  const { help, overrides } = options.read(argv, env);
  return help ? { help, config: defaults } : { help, config: resolveConfig(overrides) };
}

export function helpText(): string {
  const lines = ['Usage: npm start -- [options]', '', 'Every option may also be set by its environment variable; a flag wins.', ''];
  for (const knob of Object.values(knobs)) {
    lines.push(`  --${knob.flag.padEnd(26)} ${(knob.env ?? '').padEnd(24)} ${knob.help} (default ${JSON.stringify(knob.default)})`);
  }
  lines.push(`  --${'help'.padEnd(26)} ${''.padEnd(24)} print this text`);
  return lines.join('\n');
}

/** What cluster mode needs besides its own knobs; what it cannot do yet is refused, not ignored. */
function checkClusterConfig(config: OptionValues<typeof knobs>): void {
  for (const url of config.cluster.split(',')) {
    if (!/^nats:\/\/[^\s/,]+:\d{1,5}$/.test(url.trim())) throw options.invalid('cluster', config.cluster, ' (nats://host:port, comma-separated)');
  }
  // Retention and forgetting travel through the log (src/cluster/maintenance.ts); the budget cannot: it
  // measures the file's pages, which differ between replicas (a copy restored from a snapshot is vacuumed).
  if (config.maxDataBytes !== null) {
    throw new ConfigError('--max-data-bytes is not available in cluster mode: it measures each shard file\'s pages, which differ from replica to replica, so replicas would expire different events; use --retention-bytes (a topic\'s stored bytes, the same on every replica)');
  }
  // One log message carries a shard's share of a request, at most 1 MiB; an event must fit one with room to spare.
  if (config.maxEventBytes > 512 * KiB) throw options.invalid('maxEventBytes', config.maxEventBytes, ' and at most 524288 in cluster mode');
  if (config.ringBytes < 2 * MiB) throw options.invalid('ringBytes', config.ringBytes, ' and at least 2097152 in cluster mode');
}

/** '' is none (null); anything else must parse. */
function optional(text: string, parse: (text: string) => number | null, rule: string): number | null {
  if (text === '') return null;
  const value = parse(text);
  if (value === null) throw new ConfigError(rule);
  return value;
}

function isPowerOfTwo(value: number): boolean {
  return Number.isInteger(value) && value > 0 && (value & (value - 1)) === 0;
}
