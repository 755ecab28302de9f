import type { TSchema } from '@sinclair/typebox';
import { ErrorSchema, EventsPageSchema, HealthSchema, PublishResultSchema, StatsSchema, StoredEventSchema } from './responses.js';
import { kDefaultLimit, kMaxLimit } from '../events/query.js';
import { EventSchema } from '../events/schema.js';

export interface OpenApiOptions {
  readonly version: string;
  readonly maxBatch: number;
  readonly maxBodyBytes: number;
}

const components: Record<string, TSchema> = {
  Event: EventSchema,
  StoredEvent: StoredEventSchema,
  PublishResult: PublishResultSchema,
  Error: ErrorSchema,
  EventsPage: EventsPageSchema,
  Stats: StatsSchema,
  Health: HealthSchema,
};

const json = (name: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${name}` } } });
const error = (description: string) => ({ description, content: json('Error') });

/**
 * The OpenAPI 3.1 document, built from the same TypeBox schemas the validator compiles, so the
 * document cannot drift from what the service enforces. JSON Schema 2020-12 is OpenAPI 3.1's
 * schema dialect, so TypeBox output is used as is, with refs pointed at components.
 */
export function openApiDocument(options: OpenApiOptions): string {
  const document = {
    openapi: '3.1.0',
    info: {
      title: 'exactly-once-aggregator',
      version: options.version,
      description: 'Publish JSON events; each (topic, event_id) is stored exactly once and served back in acceptance order.',
    },
    paths: {
      '/publish': {
        post: {
          summary: 'Publish one event or a batch; answered once every event is committed',
          security: [{}, { publishToken: [] }],
          parameters: [{ name: 'results', in: 'query', required: false, schema: { type: 'string', enum: ['1', 'true'] }, description: 'add a per-event verdict' }],
          requestBody: {
            required: true,
            description: `One event or an array of 1..${options.maxBatch}; at most ${options.maxBodyBytes} bytes. Also application/x-ndjson (one event per line) and application/msgpack.`,
            content: {
              'application/json': { schema: { oneOf: [{ $ref: '#/components/schemas/Event' }, { type: 'array', minItems: 1, maxItems: options.maxBatch, items: { $ref: '#/components/schemas/Event' } }] } },
              'application/x-ndjson': { schema: { type: 'string' } },
              'application/msgpack': { schema: { type: 'string', format: 'binary' } },
            },
          },
          responses: {
            200: { description: 'committed', content: json('PublishResult') },
            400: error('bad_json: the body is not parseable'),
            401: error('unauthorized: a publish token is required'),
            403: error('forbidden: the token may not publish'),
            413: error('too_large: body or batch over the limit'),
            415: error('unsupported_media_type'),
            422: error('invalid_event: nothing of the request is stored; details per event'),
            503: { ...error('overloaded: retry after Retry-After seconds; nothing acknowledged'), headers: { 'Retry-After': { schema: { type: 'integer' } } } },
          },
        },
      },
      '/events': {
        get: {
          summary: 'Stored events in acceptance (seq) order, with a tail-able cursor',
          security: [{}, { readToken: [] }],
          parameters: [
            { name: 'topic', in: 'query', required: false, schema: { type: 'string' } },
            { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: kMaxLimit, default: kDefaultLimit } },
            { name: 'after', in: 'query', required: false, schema: { type: 'string' }, description: 'the `next` of a previous page' },
          ],
          responses: { 200: { description: 'a page', content: json('EventsPage') }, 400: error('invalid_query'), 401: error('unauthorized'), 403: error('forbidden') },
        },
      },
      '/tail': {
        get: {
          summary: 'WebSocket: replay after a cursor, then live events, in seq order',
          description:
            'Upgrade to a WebSocket (OpenAPI has no WebSocket object, so this describes it). Each server message is a text frame ' +
            '`{"events": [StoredEvent...], "next": "<cursor after the last of them>"}`. The stream replays committed events after `after` ' +
            '(absent: from now on), then follows commits, with no gap and no repeat. A subscriber whose unread backlog passes the limit is ' +
            'closed with code 4008 and reason `too_slow`; reconnecting with its last `next` resumes without loss.',
          security: [{}, { readToken: [] }],
          parameters: [
            { name: 'topic', in: 'query', required: false, schema: { type: 'string' } },
            { name: 'after', in: 'query', required: false, schema: { type: 'string' } },
            { name: 'access_token', in: 'query', required: false, schema: { type: 'string' }, description: 'the read token, for clients that cannot set headers' },
          ],
          responses: { 101: { description: 'switching to the WebSocket protocol' }, 400: error('invalid_query'), 401: error('unauthorized'), 403: error('forbidden') },
        },
      },
      '/stats': {
        get: { summary: 'Cumulative counters for the data dir', security: [{}, { readToken: [] }], responses: { 200: { description: 'counters', content: json('Stats') } } },
      },
      '/health': {
        get: { summary: 'Whether every shard is open and committing', responses: { 200: { description: 'ok', content: json('Health') }, 503: { description: 'unavailable, with the reason', content: json('Health') } } },
      },
      '/metrics': {
        get: { summary: 'Prometheus text exposition', security: [{}, { readToken: [] }], responses: { 200: { description: 'metrics', content: { 'text/plain': { schema: { type: 'string' } } } } } },
      },
    },
    components: {
      schemas: Object.fromEntries(Object.entries(components).map(([name, schema]) => [name, toOpenApi(schema)])),
      securitySchemes: {
        publishToken: { type: 'http', scheme: 'bearer', description: 'the --publish-token, when configured' },
        readToken: { type: 'http', scheme: 'bearer', description: 'the --read-token, when configured' },
      },
    },
  };
  return JSON.stringify(document);
}

/** A plain JSON copy (TypeBox's symbols dropped), without `$id`, with refs resolved to components. */
function toOpenApi(schema: TSchema): unknown {
  return JSON.parse(JSON.stringify(schema), (key, value: unknown) => {
    if (key === '$id') return undefined;
    if (key === '$ref' && typeof value === 'string' && !value.startsWith('#')) return `#/components/schemas/${value}`;
    return value;
  });
}
