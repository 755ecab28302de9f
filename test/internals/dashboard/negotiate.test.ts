import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { acceptsHtml } from '../../../src/dashboard/negotiate.js';

describe('acceptsHtml', () => {
  test('only an explicit text/html with a non-zero quality gets the page', () => {
    assert.equal(acceptsHtml('text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'), true);
    assert.equal(acceptsHtml('TEXT/HTML'), true);
    assert.equal(acceptsHtml('application/json, text/html;q=0.5'), true);
    assert.equal(acceptsHtml('text/html;q=0'), false);
    assert.equal(acceptsHtml('*/*'), false);
    assert.equal(acceptsHtml('application/json'), false);
    assert.equal(acceptsHtml(''), false);
  });
});
