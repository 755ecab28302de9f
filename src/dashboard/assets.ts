import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where asset URLs live; each file name carries its content hash, so it can be cached forever. */
const kAssetPrefix = '/dashboard/';

const contentTypes: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

export interface Asset {
  /** The URL it is served at, e.g. /dashboard/app.3f2a1b9c0d4e.js */
  readonly url: string;
  readonly contentType: string;
  readonly body: string;
}

/**
 * The built dashboard files (dist/dashboard), read once at start and served from memory.
 * A content hash in each URL lets browsers keep a file for a year and still see a new build at once:
 * the HTML, which is never cached, names the new URLs.
 */
export class DashboardAssets {
  readonly #byBuildName: ReadonlyMap<string, Asset>;
  readonly #byUrl: ReadonlyMap<string, Asset>;

  constructor(files: ReadonlyMap<string, string>) {
    const byBuildName = new Map<string, Asset>();
    for (const [name, body] of files) {
      const extension = extname(name);
      const contentType = contentTypes[extension];
      if (!contentType) continue;
      const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
      byBuildName.set(name, { url: `${kAssetPrefix}${name.slice(0, -extension.length)}.${hash}${extension}`, contentType, body });
    }
    this.#byBuildName = byBuildName;
    this.#byUrl = new Map([...byBuildName.values()].map((asset) => [asset.url, asset]));
  }

  /**
   * Reads the directory the build wrote. Missing (the service run from source, not built) is not
   * fatal: the API works, and the dashboard pages say how to build it.
   */
  static load(directory = defaultDirectory()): DashboardAssets {
    const files = new Map<string, string>();
    if (existsSync(directory)) {
      for (const name of readdirSync(directory)) {
        if (extname(name) in contentTypes) files.set(name, readFileSync(join(directory, name), 'utf8'));
      }
    }
    return new DashboardAssets(files);
  }

  /** The asset the build emitted as `name` (e.g. `app.js`), or null when it was not built. */
  get(name: string): Asset | null {
    return this.#byBuildName.get(name) ?? null;
  }

  byUrl(url: string): Asset | null {
    return this.#byUrl.get(url) ?? null;
  }
}

/**
 * The build bundles this module into a chunk directly in dist/, beside the dashboard/ folder the
 * browser bundle is written to (see tsup.config.ts); the same layout trick as `workerFile`.
 */
function defaultDirectory(): string {
  return fileURLToPath(new URL('./dashboard/', import.meta.url));
}
