import { Type } from '@sinclair/typebox';
import { topicPattern } from '../events/schema.js';
import { baseUrlOption, knob, OptionSet, type OptionValues } from '../options.js';

const runIdPattern = '^[A-Za-z0-9][A-Za-z0-9._-]*$';

/**
 * Every option of the publisher: its flag, its rule, its default and its help line. This table is
 * the one declaration; the options type, the validation and `--help` come from it.
 * `runId: null` means "derive one at start".
 */
const knobs = {
  url: knob({ flag: 'url', schema: Type.String({ minLength: 1 }), default: 'http://127.0.0.1:8080', rule: 'must be an http:// or https:// URL', help: 'aggregator base URL, http:// or https:// (a private CA: NODE_EXTRA_CA_CERTS=ca.pem)' }),
  // The stream keeps 4 bytes per event; ten million is 40 MB and minutes of publishing.
  events: knob({ flag: 'events', schema: Type.Integer({ minimum: 1, maximum: 10_000_000 }), default: 5000, help: 'events to send, duplicates included' }),
  duplicateRatio: knob({ flag: 'duplicate-ratio', schema: Type.Number({ minimum: 0, exclusiveMaximum: 1 }), default: 0.2, help: 'share of events that repeat an earlier (topic, event_id), in [0, 1)' }),
  topics: knob({
    flag: 'topics',
    schema: Type.Array(Type.String({ minLength: 1, maxLength: 128, pattern: topicPattern }), { minItems: 1, maxItems: 1000, uniqueItems: true }),
    default: ['auth.prod', 'payment.dev', 'search.prod'],
    rule: `must be 1-1000 distinct topics, each 1-128 chars matching ${topicPattern}`,
    help: 'comma-separated topics',
  }),
  mode: knob({ flag: 'mode', schema: Type.Union([Type.Literal('single'), Type.Literal('batch'), Type.Literal('mix')]), default: 'mix', help: 'single (one event per request), batch (--batch-size per request) or mix (either, at random)' }),
  // 10 000 is the server's default --max-batch; a bigger batch would only earn 413s.
  batchSize: knob({ flag: 'batch-size', schema: Type.Integer({ minimum: 1, maximum: 10_000 }), default: 100, help: 'events per batch request' }),
  concurrency: knob({ flag: 'concurrency', schema: Type.Integer({ minimum: 1, maximum: 1024 }), default: 4, help: 'keep-alive connections, one request in flight on each' }),
  format: knob({ flag: 'format', schema: Type.Union([Type.Literal('json'), Type.Literal('ndjson'), Type.Literal('msgpack')]), default: 'json', help: 'body format: json, ndjson or msgpack' }),
  seed: knob({ flag: 'seed', schema: Type.Integer({ minimum: 0, maximum: 0xffff_ffff }), default: 1, help: 'PRNG seed: the same seed sends the same events, duplicates and batch splits' }),
  // Short enough that `${runId}-${counter}` stays well inside the 128-char event_id limit.
  runId: knob({
    flag: 'run-id',
    schema: Type.Union([Type.Null(), Type.String({ minLength: 1, maxLength: 64, pattern: runIdPattern })]),
    default: null,
    rule: `must be 1-64 chars matching ${runIdPattern}`,
    help: 'prefix of every event_id; pass an earlier run id (and its --seed) to send the same events again',
  }),
  maxRetries: knob({ flag: 'max-retries', schema: Type.Integer({ minimum: 0, maximum: 100 }), default: 10, help: 'retries per request on a network error or 503, with exponential backoff' }),
  timeoutMs: knob({ flag: 'timeout-ms', schema: Type.Integer({ minimum: 100, maximum: 600_000 }), default: 30_000, help: 'a request without an answer for this long counts as a network error, ms' }),
  progress: knob({ flag: 'progress', schema: Type.Union([Type.Literal('auto'), Type.Literal('bar'), Type.Literal('lines'), Type.Literal('off')]), default: 'auto', help: 'auto (a bar on a TTY, else a line per second), bar, lines or off; on stderr' }),
  json: knob({ flag: 'json', schema: Type.Boolean(), default: false, help: 'print the report as one JSON line on stdout' }),
  verify: knob({ flag: 'verify', schema: Type.Boolean(), default: false, help: 'check that /stats moved by exactly the expected counts (assumes no other publisher)' }),
} as const;

type RawOptions = OptionValues<typeof knobs>;
export type PublishMode = RawOptions['mode'];
export type BodyFormat = RawOptions['format'];
export type ProgressOption = RawOptions['progress'];

/** The validated options; `runId` is always set, `url` has no trailing slash. */
export type PublisherOptions = Readonly<Omit<RawOptions, 'runId' | 'topics'> & { runId: string; topics: readonly string[] }>;
export type PublisherOverrides = Partial<Omit<RawOptions, 'runId'> & { runId: string | null }>;

const optionSet = new OptionSet(knobs);

/** Validates overrides over the defaults, fills the run id, and returns one frozen object. */
export function resolvePublisherOptions(overrides: PublisherOverrides = {}): PublisherOptions {
  const raw = optionSet.resolve(overrides);
  return Object.freeze({
    ...raw,
    url: checkUrl(raw.url),
    topics: Object.freeze([...raw.topics]),
    runId: raw.runId ?? defaultRunId(raw.seed),
  });
}

export interface PublisherCommandLine {
  readonly help: boolean;
  readonly options: PublisherOptions;
}

export function parsePublisherArgs(argv: readonly string[]): PublisherCommandLine {
  const { help, overrides } = optionSet.read(argv);
  return { help, options: resolvePublisherOptions(help ? {} : (overrides as PublisherOverrides)) };
}

export function publisherHelpText(): string {
  const lines = [
    'Usage: aggregator-publisher [options]   (npm run publisher -- [options])',
    '',
    'Publishes generated events at least once (retrying network errors and 503s) and reports what',
    'the aggregator acknowledged. Exits 1 if any request finally fails or --verify finds a mismatch.',
    '',
  ];
  for (const knob of Object.values(knobs)) {
    const shown = knob.default === null ? 'derived from --seed and the start time' : Array.isArray(knob.default) ? knob.default.join(',') : JSON.stringify(knob.default);
    lines.push(`  --${knob.flag.padEnd(16)} ${knob.help} (default ${shown})`);
  }
  lines.push(`  --${'help'.padEnd(16)} print this text`);
  return lines.join('\n');
}

function checkUrl(text: string): string {
  return baseUrlOption(optionSet, 'url', text);
}

/**
 * Seed plus start time: two runs never share event ids by accident, yet a run id printed in a
 * report can be passed back with --run-id (and the same --seed) to replay that run exactly.
 */
function defaultRunId(seed: number): string {
  return `r${seed.toString(36)}-${Date.now().toString(36)}`;
}
