import type { TSchema } from '@sinclair/typebox';
import { errorMeaning, httpStatus, type ErrorCode } from '../errors.js';
import { DeletionResultSchema, ErrorSchema, FetchResultSchema, GroupListSchema, GroupSchema, SettleResultSchema, EventsPageSchema, TopicsPageSchema, HealthSchema, PublishResultSchema, SearchHistogramSchema, SearchPageSchema, SearchTopSchema, StatsSchema, StoredEventSchema } from '../events/responses.js';
import { EventSchema } from '../events/schema.js';
import type { Scope } from './auth.js';
import type { Route } from './route.js';

export interface OpenApiInfo {
  readonly version: string;
}

const components: Record<string, TSchema> = {
  Event: EventSchema,
  StoredEvent: StoredEventSchema,
  PublishResult: PublishResultSchema,
  Error: ErrorSchema,
  EventsPage: EventsPageSchema,
  SearchPage: SearchPageSchema,
  SearchHistogram: SearchHistogramSchema,
  SearchTop: SearchTopSchema,
  Stats: StatsSchema,
  Health: HealthSchema,
  DeletionResult: DeletionResultSchema,
  TopicsPage: TopicsPageSchema,
  Group: GroupSchema,
  GroupList: GroupListSchema,
  FetchResult: FetchResultSchema,
  SettleResult: SettleResultSchema,
};

export const jsonContent = (name: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${name}` } } });

/**
 * The OpenAPI responses of a route's refusals, named by their catalogue codes: each status and its
 * words come from the catalogue, so the document cannot say another status than the service sends.
 */
export function refusals(...codes: readonly ErrorCode[]): Record<number, object> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(httpStatus(code), [...(byStatus.get(httpStatus(code)) ?? []), code]);
  return Object.fromEntries(
    [...byStatus].map(([status, group]) => [
      status,
      {
        description: group.map((code) => `${code}: ${errorMeaning(code)}`).join('; '),
        content: jsonContent('Error'),
        ...(status === 503 ? { headers: { 'Retry-After': { schema: { type: 'integer' } } } } : {}),
      },
    ]),
  );
}

const securityOf: Readonly<Record<Scope, readonly object[]>> = {
  publish: [{}, { publishToken: [] }],
  read: [{}, { readToken: [] }],
  consume: [{}, { consumeToken: [] }, { adminToken: [] }],
  // Never open: the admin token is required.
  admin: [{ adminToken: [] }],
};

/**
 * The OpenAPI 3.1 document, built from the route table and the same TypeBox schemas the validator
 * compiles, so the document cannot drift from what the service enforces. JSON Schema 2020-12 is
 * OpenAPI 3.1's schema dialect, so TypeBox output is used as is, with refs pointed at components.
 */
export function openApiDocument(routes: readonly Route[], info: OpenApiInfo): string {
  const paths: Record<string, Record<string, object>> = {};
  for (const route of routes) {
    if (!route.operation) continue;
    const operation = { summary: route.summary, ...(route.scope ? { security: securityOf[route.scope] } : {}), ...route.operation };
    (paths[route.path.replace(/:(\w+)/g, '{$1}')] ??= {})[route.method.toLowerCase()] = operation;
  }
  const document = {
    openapi: '3.1.0',
    info: {
      title: 'exactly-once-aggregator',
      version: info.version,
      description: 'Publish JSON events; each (topic, event_id) is stored exactly once and served back in acceptance order.',
    },
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(components).map(([name, schema]) => [name, toOpenApi(schema)])),
      securitySchemes: {
        publishToken: { type: 'http', scheme: 'bearer', description: 'the --publish-token, when configured' },
        readToken: { type: 'http', scheme: 'bearer', description: 'the --read-token, when configured' },
        consumeToken: { type: 'http', scheme: 'bearer', description: 'the --consume-token, when configured (the admin token also passes)' },
        adminToken: { type: 'http', scheme: 'bearer', description: 'the --admin-token; without one, deletion is off' },
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
