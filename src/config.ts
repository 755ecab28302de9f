import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { OptionSet } from './options.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * Every knob of the service, its default, its flag and its environment variable.
 * This table is the only place a default lives; `--help` is generated from it, and a test holds
 * the README's table to it.
 */
const knobs = {
  port: { flag: 'port', env: 'PORT', kind: 'integer', default: 8080, help: 'TCP port to listen on (0 = any free port)' },
  host: { flag: 'host', env: 'HOST', kind: 'string', default: '0.0.0.0', help: 'address to bind' },
  dataDir: { flag: 'data-dir', env: 'DATA_DIR', kind: 'string', default: './data', help: 'directory holding one SQLite file per shard' },
  shards: { flag: 'shards', env: 'SHARDS', kind: 'integer', default: Math.max(1, availableParallelism()), help: 'shard count (one writer thread each); fixed for a data dir' },
  maxBodyBytes: { flag: 'max-body-bytes', env: 'MAX_BODY_BYTES', kind: 'integer', default: 16 * MiB, help: 'largest accepted request body, bytes' },
  maxBatch: { flag: 'max-batch', env: 'MAX_BATCH', kind: 'integer', default: 10_000, help: 'most events in one POST /publish' },
  maxEventBytes: { flag: 'max-event-bytes', env: 'MAX_EVENT_BYTES', kind: 'integer', default: 64 * KiB, help: 'largest event, serialised as JSON, bytes' },
  maxPayloadDepth: { flag: 'max-payload-depth', env: 'MAX_PAYLOAD_DEPTH', kind: 'integer', default: 64, help: 'deepest nesting of objects/arrays inside a payload' },
  ringBytes: { flag: 'ring-bytes', env: 'RING_BYTES', kind: 'integer', default: 32 * MiB, help: 'capacity of each shard ring, bytes (a power of two)' },
  drainBytes: { flag: 'drain-bytes', env: 'DRAIN_BYTES', kind: 'integer', default: 4 * MiB, help: 'most frame bytes committed in one transaction (group commit cap)' },
  sync: { flag: 'sync', env: 'SYNC', kind: 'string', default: 'normal', help: 'normal: a 200 survives a process crash; full: also power loss (fsync per commit)' },
  readers: { flag: 'readers', env: 'READERS', kind: 'integer', default: 1, help: 'reader threads serving GET /events' },
  maxBufferedBodyBytes: { flag: 'max-buffered-body-bytes', env: 'MAX_BUFFERED_BODY_BYTES', kind: 'integer', default: 256 * MiB, help: 'request body bytes buffered across all connections before new bodies get 503' },
  discardBytes: { flag: 'discard-bytes', env: 'DISCARD_BYTES', kind: 'integer', default: 64 * MiB, help: 'bytes of an oversized body read and dropped before the connection is closed' },
  retryAfterSeconds: { flag: 'retry-after', env: 'RETRY_AFTER', kind: 'integer', default: 1, help: 'Retry-After seconds on 503' },
  tailBacklogBytes: { flag: 'tail-backlog-bytes', env: 'TAIL_BACKLOG_BYTES', kind: 'integer', default: 1 * MiB, help: 'unread bytes a /tail subscriber may fall behind before it is closed with 4008 too_slow' },
  tailPageSize: { flag: 'tail-page-size', env: 'TAIL_PAGE_SIZE', kind: 'integer', default: 500, help: 'most events in one /tail message' },
  publishToken: { flag: 'publish-token', env: 'PUBLISH_TOKEN', kind: 'string', default: '', help: 'bearer token required by POST /publish (empty: open)' },
  readToken: { flag: 'read-token', env: 'READ_TOKEN', kind: 'string', default: '', help: 'bearer token required by reads: /events, /stats, /metrics, /tail (empty: open)' },
  logLevel: { flag: 'log-level', env: 'LOG_LEVEL', kind: 'string', default: 'info', help: 'fatal, error, warn, info, debug, trace or silent' },
  shardRetryMs: { flag: 'shard-retry-ms', env: 'SHARD_RETRY_MS', kind: 'integer', default: 1000, help: 'after a failed commit, how long a shard refuses writes before it tries again, ms' },
} as const;

export type KnobName = keyof typeof knobs;

const ConfigSchema = Type.Object(
  {
    port: Type.Integer({ minimum: 0, maximum: 65535 }),
    host: Type.String({ minLength: 1 }),
    dataDir: Type.String({ minLength: 1 }),
    shards: Type.Integer({ minimum: 1, maximum: 256 }),
    maxBodyBytes: Type.Integer({ minimum: 1 }),
    maxBatch: Type.Integer({ minimum: 1 }),
    maxEventBytes: Type.Integer({ minimum: 256 }),
    maxPayloadDepth: Type.Integer({ minimum: 1, maximum: 1000 }),
    ringBytes: Type.Integer({ minimum: 64 * KiB, maximum: 1024 * MiB }),
    drainBytes: Type.Integer({ minimum: 1 }),
    sync: Type.Union([Type.Literal('normal'), Type.Literal('full')]),
    readers: Type.Integer({ minimum: 1, maximum: 64 }),
    maxBufferedBodyBytes: Type.Integer({ minimum: 1 }),
    discardBytes: Type.Integer({ minimum: 0 }),
    retryAfterSeconds: Type.Integer({ minimum: 1, maximum: 3600 }),
    tailBacklogBytes: Type.Integer({ minimum: 1024 }),
    tailPageSize: Type.Integer({ minimum: 1, maximum: 1000 }),
    publishToken: Type.String(),
    readToken: Type.String(),
    logLevel: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level))),
    shardRetryMs: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);

export type Config = Readonly<Static<typeof ConfigSchema>>;

const options = new OptionSet<Config>(knobs, ConfigSchema);
export const defaults: Config = options.defaults;

/** Validates a partial config over the defaults and returns one frozen object. */
export function resolveConfig(overrides: Partial<Record<KnobName, unknown>> = {}): Config {
  const config = { ...options.resolve(overrides) };
  if (!isPowerOfTwo(config.ringBytes)) throw options.invalid('ringBytes', config.ringBytes, ' and a power of two');
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
    lines.push(`  --${knob.flag.padEnd(26)} ${knob.env.padEnd(24)} ${knob.help} (default ${JSON.stringify(knob.default)})`);
  }
  lines.push(`  --${'help'.padEnd(26)} ${''.padEnd(24)} print this text`);
  return lines.join('\n');
}

function isPowerOfTwo(value: number): boolean {
  return Number.isInteger(value) && value > 0 && (value & (value - 1)) === 0;
}
