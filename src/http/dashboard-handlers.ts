import type { HttpRequest } from 'uWebSockets.js';
import type { DashboardAssets } from '../dashboard/assets.js';
import { acceptsHtml } from '../dashboard/negotiate.js';
import { renderPage, type Page, type PageName } from '../dashboard/pages.js';
import type { RouteInfo, ServiceInfo } from '../dashboard/service-info.js';
import { NotFoundError } from '../errors.js';
import type { Reply } from './reply.js';

export interface DashboardSources {
  readonly assets: DashboardAssets;
  /** The route list of GET /, read when asked: it comes from the route table, built after the handlers. */
  readonly routes: () => readonly RouteInfo[];
  readonly shards: number;
  readonly name: string;
  readonly version: string;
}

// Hashed URLs never change content, so a browser may keep them for good.
const kImmutable = 'public, max-age=31536000, immutable';

/**
 * GET / (the dashboard for a browser, the service description for anyone else), GET /docs and the
 * dashboard's static files. All open: the pages hold no data, they fetch it with the token the
 * user gives them.
 */
export class DashboardHandlers {
  readonly #sources: DashboardSources;
  readonly #pages: Readonly<Record<PageName, Page>>;
  readonly #startedAt = performance.now();

  constructor(sources: DashboardSources) {
    this.#sources = sources;
    // The pages only name asset URLs, which are fixed once the assets are loaded: render them once.
    this.#pages = {
      app: renderPage('app', sources.assets, sources.name),
      docs: renderPage('docs', sources.assets, sources.name),
    };
  }

  root(req: HttpRequest, reply: Reply): void {
    if (acceptsHtml(req.getHeader('accept'))) return this.#page('app', reply);
    const info: ServiceInfo = {
      name: this.#sources.name,
      version: this.#sources.version,
      routes: this.#sources.routes(),
      shards: this.#sources.shards,
      uptime: Math.round((performance.now() - this.#startedAt) / 10) / 100,
    };
    reply.send(200, JSON.stringify(info), { headers: { 'Cache-Control': 'no-store', Vary: 'Accept' } });
  }

  docs(reply: Reply): void {
    this.#page('docs', reply);
  }

  asset(url: string, reply: Reply): void {
    const asset = this.#sources.assets.byUrl(url);
    if (!asset) return reply.error(new NotFoundError(url));
    reply.send(200, asset.body, { contentType: asset.contentType, headers: { 'Cache-Control': kImmutable, 'X-Content-Type-Options': 'nosniff' } });
  }

  #page(name: PageName, reply: Reply): void {
    const page = this.#pages[name];
    reply.send(page.status, page.html, { contentType: 'text/html; charset=utf-8', headers: page.headers });
  }
}
