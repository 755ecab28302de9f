import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DashboardAssets } from '../../../src/dashboard/assets.js';

describe('DashboardAssets', () => {
  test('assets get content-hashed URLs; only JS and CSS are served', () => {
    const assets = new DashboardAssets(new Map([['app.js', 'console.log(1)'], ['app.css', 'body{}'], ['app.js.map', '{}']]));
    const script = assets.get('app.js')!;
    assert.match(script.url, /^\/dashboard\/app\.[0-9a-f]{12}\.js$/);
    assert.equal(script.contentType, 'text/javascript; charset=utf-8');
    assert.equal(assets.byUrl(script.url), script);
    assert.notEqual(new DashboardAssets(new Map([['app.js', 'console.log(2)']])).get('app.js')!.url, script.url, 'new content, new URL');
    assert.equal(assets.get('app.js.map'), null);
    assert.equal(assets.byUrl('/dashboard/app.js'), null);
  });
});
