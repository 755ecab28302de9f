/** Replaced by the build with package.json's name and version (tsup.config.ts `define`); absent when run from source. */
declare const __AGGREGATOR_PACKAGE__: { readonly name: string; readonly version: string } | undefined;

export const builtPackage: { readonly name: string; readonly version: string } =
  typeof __AGGREGATOR_PACKAGE__ === 'object' ? __AGGREGATOR_PACKAGE__ : { name: 'exactly-once-aggregator', version: '0.0.0' };

export interface RouteInfo {
  readonly method: string;
  readonly path: string;
  readonly summary: string;
}

export interface ServiceInfo {
  readonly name: string;
  readonly version: string;
  readonly routes: readonly RouteInfo[];
  readonly shards: number;
  readonly uptime: number;
}

// Routes that serve the API description or pages rather than being part of the API it describes.
const describingRoutes: readonly RouteInfo[] = [
  { method: 'GET', path: '/', summary: 'This service description (JSON), or the dashboard for a browser (Accept: text/html)' },
  { method: 'GET', path: '/docs', summary: 'API reference page, rendered from /openapi.json' },
  { method: 'GET', path: '/openapi.json', summary: 'The OpenAPI 3.1 document of this API' },
];

interface OpenApiPaths {
  readonly paths?: Readonly<Record<string, Readonly<Record<string, { readonly summary?: string }>>>>;
}

/**
 * The route list, taken from the OpenAPI document the service already builds, so that it cannot
 * drift from what the API reference says.
 */
export function routesOf(openApiDocument: string): RouteInfo[] {
  const document = JSON.parse(openApiDocument) as OpenApiPaths;
  const routes = [...describingRoutes];
  for (const [path, operations] of Object.entries(document.paths ?? {})) {
    for (const [method, operation] of Object.entries(operations)) {
      routes.push({ method: method.toUpperCase(), path, summary: operation.summary ?? '' });
    }
  }
  return routes;
}
