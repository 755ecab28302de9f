import { Type } from '@sinclair/typebox';
import { ConfigError } from '../errors.js';
import { baseUrlOption, knob, OptionSet, type OptionValues } from '../options.js';
import { topicGlobPattern } from '../search/glob.js';

const delayPattern = '^(server|[0-9]{1,9})$';

/**
 * Every option of the consumer: its flag, its rule, its default and its help line. This table is
 * the one declaration; the options type, the validation and `--help` come from it. Options that
 * can be "off" use 0 or "" for it: the shared parser converts a flag's text by its schema's type,
 * which a nullable union would hide.
 */
const knobs = {
  url: knob({ flag: 'url', schema: Type.String({ minLength: 1 }), default: 'http://127.0.0.1:8080', rule: 'must be an http:// or https:// URL', help: 'aggregator base URL, http:// or https:// (a private CA: NODE_EXTRA_CA_CERTS=ca.pem)' }),
  group: knob({ flag: 'group', schema: Type.String({ maxLength: 64 }), default: '', help: 'consumer group name (required)' }),
  topics: knob({
    flag: 'topics',
    schema: Type.Array(Type.String({ pattern: topicGlobPattern }), { maxItems: 64, uniqueItems: true }),
    default: [],
    rule: `must be 1-64 distinct topics or globs, each matching ${topicGlobPattern}`,
    help: 'comma-separated topics or globs (orders.*): create the group first, starting at the earliest event (none: the group must exist)',
  }),
  token: knob({ flag: 'token', schema: Type.String(), default: '', help: 'bearer token for the group routes (none: no Authorization header)' }),
  readToken: knob({ flag: 'read-token', schema: Type.String(), default: '', help: 'bearer token for --verify\'s reads of /events (none: --token)' }),
  concurrency: knob({ flag: 'concurrency', schema: Type.Integer({ minimum: 1, maximum: 1024 }), default: 16, help: 'handlers running at once' }),
  // The server hands out at most 1000 messages per fetch.
  max: knob({ flag: 'max', schema: Type.Integer({ minimum: 1, maximum: 1000 }), default: 100, help: 'most messages per fetch (never more than the free handler slots)' }),
  waitMs: knob({ flag: 'wait-ms', schema: Type.Integer({ minimum: 0, maximum: 60_000 }), default: 5000, help: 'how long the server may hold a fetch open for messages, ms' }),
  nakDelayMs: knob({
    flag: 'nak-delay-ms',
    schema: Type.String({ pattern: delayPattern }),
    default: 'server',
    rule: 'must be "server" or a delay in ms',
    help: 'redelivery delay after a handler failure: ms, or "server" for the group\'s backoff_ms',
    parse: (text: string): number | null => (text === 'server' ? null : Number(text)),
  }),
  exitWhenIdle: knob({ flag: 'exit-when-idle', schema: Type.Integer({ minimum: 0, maximum: 86_400_000 }), default: 0, help: 'stop once no message arrived for this long, ms (0: never)' }),
  count: knob({ flag: 'count', schema: Type.Integer({ minimum: 0, maximum: 1_000_000_000 }), default: 0, help: 'stop once this many messages were acked (0: no limit; handlers running then still finish)' }),
  failRate: knob({ flag: 'fail-rate', schema: Type.Number({ minimum: 0, exclusiveMaximum: 1 }), default: 0, help: 'share of handler calls that throw, in [0, 1), to exercise naks and redelivery (with --exit-when-idle, keep the redelivery delay below it)' }),
  print: knob({ flag: 'print', schema: Type.Boolean(), default: false, help: 'print each handled event as one JSON line on stdout (the report then goes to stderr)' }),
  maxRetries: knob({ flag: 'max-retries', schema: Type.Integer({ minimum: 0, maximum: 1000 }), default: 10, help: 'retries per request on a network error or 503, with exponential backoff' }),
  timeoutMs: knob({ flag: 'timeout-ms', schema: Type.Integer({ minimum: 100, maximum: 600_000 }), default: 30_000, help: 'a request without an answer for this long (beyond --wait-ms) counts as a network error, ms' }),
  json: knob({ flag: 'json', schema: Type.Boolean(), default: false, help: 'print the report as one JSON line' }),
  verify: knob({
    flag: 'verify',
    schema: Type.Boolean(),
    default: false,
    help: 'at the end, read every stored event of the topics seen (and of the glob-free --topics) and check each was acked once (assumes the group started at the earliest event and no other consumer ran)',
  }),
} as const;

type RawOptions = OptionValues<typeof knobs>;

/** The validated options; `url` has no trailing slash, unset tokens are null. */
export type ConsumerCliOptions = Readonly<Omit<RawOptions, 'topics' | 'token' | 'readToken'> & { topics: readonly string[]; token: string | null; readToken: string | null }>;
export type ConsumerCliOverrides = Partial<Omit<RawOptions, 'nakDelayMs'> & { nakDelayMs: string }>;

const optionSet = new OptionSet(knobs);

/** Validates overrides over the defaults and returns one frozen object. */
export function resolveConsumerOptions(overrides: ConsumerCliOverrides = {}): ConsumerCliOptions {
  const raw = optionSet.resolve(overrides);
  if (raw.group === '') throw new ConfigError('--group is required');
  const token = raw.token === '' ? null : raw.token;
  return Object.freeze({
    ...raw,
    url: checkUrl(raw.url),
    topics: Object.freeze([...raw.topics]),
    token,
    readToken: raw.readToken === '' ? token : raw.readToken,
  });
}

export interface ConsumerCommandLine {
  readonly help: boolean;
  /** null with --help: the required --group need not be given then. */
  readonly options: ConsumerCliOptions | null;
}

export function parseConsumerArgs(argv: readonly string[]): ConsumerCommandLine {
  const { help, overrides } = optionSet.read(argv);
  return { help, options: help ? null : resolveConsumerOptions(overrides as ConsumerCliOverrides) };
}

export function consumerHelpText(): string {
  const lines = [
    'Usage: aggregator-consumer --group G [options]',
    '',
    'Consumes a consumer group at least once: fetches (long poll), runs a handler per message with',
    'bounded concurrency, acks what it handled (batched) and naks what failed. Stops on --count,',
    '--exit-when-idle or Ctrl-C (the first finishes running handlers and sends their acks, a second',
    'quits at once) and reports what the server answered. Exits 0 when all went well, 1 when a',
    'request finally failed, --verify found a mismatch or an option is bad, 130 when interrupted.',
    '',
  ];
  for (const knob of Object.values(knobs)) {
    const shown = Array.isArray(knob.default) ? (knob.default.length === 0 ? 'none' : knob.default.join(',')) : knob.default === '' ? 'none' : JSON.stringify(knob.default);
    lines.push(`  --${knob.flag.padEnd(16)} ${knob.help} (default ${shown})`);
  }
  lines.push(`  --${'help'.padEnd(16)} print this text`);
  return lines.join('\n');
}

function checkUrl(text: string): string {
  return baseUrlOption(optionSet, 'url', text);
}
