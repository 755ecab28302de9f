import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DashboardAssets } from '../../../src/dashboard/assets.js';
import { renderPage } from '../../../src/dashboard/pages.js';

describe('renderPage', () => {
  test('the page names the hashed assets; without a build it says how to make one', () => {
    const assets = new DashboardAssets(new Map([['app.js', 'x'], ['app.css', 'y']]));
    const page = renderPage('app', assets, 'svc <b>');
    assert.equal(page.status, 200);
    assert.ok(page.html.includes(`<script type="module" src="${assets.get('app.js')!.url}"></script>`));
    assert.ok(page.html.includes(`<link rel="stylesheet" href="${assets.get('app.css')!.url}">`));
    assert.ok(page.html.includes('svc &#60;b&#62;'), 'the name is escaped');
    assert.equal(page.headers['Cache-Control'], 'no-cache');
    const unbuilt = renderPage('docs', DashboardAssets.load('/nonexistent/dashboard'), 'svc');
    assert.equal(unbuilt.status, 503);
    assert.match(unbuilt.html, /npm run build/);
  });
});
