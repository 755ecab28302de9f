/** Replaced by the build with package.json's name and version (tsup.config.ts `define`); absent when run from source. */
declare const __AGGREGATOR_PACKAGE__: { readonly name: string; readonly version: string } | undefined;

export const builtPackage: { readonly name: string; readonly version: string } =
  typeof __AGGREGATOR_PACKAGE__ === 'object' ? __AGGREGATOR_PACKAGE__ : { name: 'exactly-once-aggregator', version: '0.0.0' };

export interface RouteInfo {
  readonly method: string;
  readonly path: string;
  readonly summary: string;
}

/** The body of GET / for anyone but a browser; the dashboard reads it too. */
export interface ServiceInfo {
  readonly name: string;
  readonly version: string;
  readonly routes: readonly RouteInfo[];
  readonly shards: number;
  readonly uptime: number;
}
