import type { DashboardAssets } from './assets.js';

/** The two browser pages; each is one bundle (`<entry>.js` + `<entry>.css`) built from src/dashboard/client. */
export type PageName = 'app' | 'docs';

const titles: Readonly<Record<PageName, string>> = {
  app: 'Dashboard',
  docs: 'API reference',
};

/**
 * Everything the pages load comes from this origin; the WebSocket is listed explicitly because
 * older browsers do not let 'self' cover ws:. uPlot sizes its parts through element.style, which
 * CSP does not restrict, but it also ships no inline <style>, so 'unsafe-inline' is not needed.
 */
const contentSecurityPolicy = [
  "default-src 'self'",
  "connect-src 'self' ws: wss:",
  "img-src 'self' data:",
  "style-src 'self'",
  "script-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

// An inline icon, so the browser does not ask for /favicon.ico (a 404 in every console).
const icon =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Ccircle cx='8' cy='8' r='7' fill='%232563eb'/%3E%3Cpath d='M4 8.5l2.5 2.5L12 5.5' stroke='white' stroke-width='2' fill='none'/%3E%3C/svg%3E";

export interface Page {
  readonly status: number;
  readonly html: string;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * The HTML shell of a page: no data in it, only the hashed asset URLs, so it is tiny and must never
 * be cached (a new build changes the URLs it names).
 */
export function renderPage(name: PageName, assets: DashboardAssets, serviceName: string): Page {
  const script = assets.get(`${name}.js`);
  const style = assets.get(`${name}.css`);
  const headers = {
    'Cache-Control': 'no-cache',
    'Content-Security-Policy': contentSecurityPolicy,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    Vary: 'Accept',
  };
  const title = `${titles[name]} · ${escapeHtml(serviceName)}`;
  if (!script) {
    const body = '<p>The dashboard is not built: run <code>npm run build</code> (it writes <code>dist/dashboard/</code>). The API itself works; see <a href="/openapi.json">/openapi.json</a>.</p>';
    return { status: 503, html: shell(title, '', body), headers };
  }
  const head = [
    style ? `<link rel="stylesheet" href="${style.url}">` : '',
    `<script type="module" src="${script.url}"></script>`,
  ].join('\n');
  const body = '<noscript>This page needs JavaScript. The API is described at <a href="/openapi.json">/openapi.json</a>.</noscript>\n<div id="app"></div>';
  return { status: 200, html: shell(title, head, body), headers };
}

function shell(title: string, head: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="icon" href="${icon}">
${head}
</head>
<body>
${body}
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}
