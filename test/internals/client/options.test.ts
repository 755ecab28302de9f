import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Client } from '../../../src/client/client.js';
import { clientDefaults, kGzipDefaultMinBytes, resolveClientOptions, type ClientOptions } from '../../../src/client/options.js';

const url = 'http://127.0.0.1:8080';

/** Options as a caller without types might pass them (plain JavaScript, JSON config). */
function loose(options: Record<string, unknown>): ClientOptions {
  return options as unknown as ClientOptions;
}

describe('Client options', () => {
  test('the defaults, filled in and frozen; the url loses its trailing slash', () => {
    const options = resolveClientOptions({ url: `${url}/` });
    assert.equal(options.url, url);
    assert.equal(options.maxBatchEvents, clientDefaults.maxBatchEvents);
    assert.equal(options.maxBatchBytes, 1024 * 1024);
    assert.equal(options.lingerMs, 5);
    assert.equal(options.maxBufferedEvents, 10_000);
    assert.equal(options.concurrency, 4);
    assert.equal(options.gzipMinBytes, null, 'gzip is off by default');
    assert.deepEqual(options.headers, {});
    assert.ok(Object.isFrozen(options) && Object.isFrozen(clientDefaults));
  });

  test('each integer option names itself and its range', () => {
    const cases: [string, unknown, RegExp][] = [
      ['maxBatchEvents', 0, /^options\.maxBatchEvents must be an integer from 1 to 10000$/],
      ['maxBatchEvents', 10_001, /^options\.maxBatchEvents must be an integer from 1 to 10000$/],
      ['maxBatchEvents', 1.5, /^options\.maxBatchEvents must be an integer from 1 to 10000$/],
      ['maxBatchEvents', '10', /^options\.maxBatchEvents must be an integer from 1 to 10000$/],
      ['maxBatchBytes', 1023, /^options\.maxBatchBytes must be an integer from 1024 to 16777216$/],
      ['lingerMs', -1, /^options\.lingerMs must be an integer from 0 to 60000$/],
      ['maxBufferedEvents', 0, /^options\.maxBufferedEvents must be an integer from 1 to 10000000$/],
      ['concurrency', 0, /^options\.concurrency must be an integer from 1 to 1024$/],
      ['maxRetries', -1, /^options\.maxRetries must be an integer from 0 to 1000, or Infinity$/],
      ['timeoutMs', 0, /^options\.timeoutMs must be an integer from 1 to 600000$/],
      ['maxBatchEvents', null, /^options\.maxBatchEvents must be/],
    ];
    for (const [name, value, message] of cases) {
      assert.throws(() => new Client(loose({ url, [name]: value })), { name: 'TypeError', message }, `${name} = ${String(value)}`);
    }
    assert.equal(resolveClientOptions({ url, maxRetries: Infinity }).maxRetries, Infinity);
    assert.equal(resolveClientOptions({ url, lingerMs: 0, maxBatchEvents: 10_000 }).maxBatchEvents, 10_000);
  });

  test('url: http:// or https:// only, without query or fragment', () => {
    for (const bad of ['localhost:8080', 'ftp://host', `${url}/?x=1`, `${url}#top`, '', 42, undefined]) {
      assert.throws(() => new Client(loose({ url: bad })), { name: 'TypeError', message: /^options\.url must be an http:\/\/ or https:\/\/ URL without query or fragment/ }, String(bad));
    }
    assert.equal(resolveClientOptions({ url: 'https://aggregator.example/ingest/' }).url, 'https://aggregator.example/ingest');
  });

  test('token becomes a bearer header; headers must be strings; unknown options are refused', () => {
    assert.deepEqual(resolveClientOptions({ url, token: 's3cret', headers: { 'X-Team': 'billing' } }).headers, { 'x-team': 'billing', authorization: 'Bearer s3cret' });
    assert.throws(() => new Client(loose({ url, token: '' })), { message: 'options.token must be a non-empty string without control characters' });
    assert.throws(() => new Client(loose({ url, token: 'a\nb' })), { message: 'options.token must be a non-empty string without control characters' });
    assert.throws(() => new Client(loose({ url, headers: { 'x-n': 1 } })), { message: 'options.headers must be an object of string values' });
    assert.throws(() => new Client(loose({ url, lingerMS: 10 })), { message: 'options.lingerMS is not an option' });
    assert.throws(() => new Client(loose({ url, onRetry: 'log' })), { message: 'options.onRetry must be a function' });
    assert.throws(() => new Client(loose(null as unknown as Record<string, unknown>)), { message: /^options must be an object/ });
  });

  test('gzip: a boolean or a least size', () => {
    assert.equal(resolveClientOptions({ url, gzip: true }).gzipMinBytes, kGzipDefaultMinBytes);
    assert.equal(resolveClientOptions({ url, gzip: 0 }).gzipMinBytes, 0);
    assert.equal(resolveClientOptions({ url, gzip: false }).gzipMinBytes, null);
    for (const bad of [-1, 0.5, 'yes']) {
      assert.throws(() => new Client(loose({ url, gzip: bad })), { message: 'options.gzip must be a boolean or an integer from 0 to 16777216 (the least body bytes to compress)' });
    }
  });

  test('tls: only with an https:// url, only known fields of the right types', () => {
    const tls = { ca: '-----BEGIN CERTIFICATE-----', rejectUnauthorized: true };
    assert.deepEqual(resolveClientOptions({ url: 'https://127.0.0.1:8443', tls }).tls, tls);
    assert.throws(() => new Client({ url, tls }), { message: 'options.tls needs an https:// url: over http:// it would be silently unused' });
    const https = 'https://127.0.0.1:8443';
    assert.throws(() => new Client(loose({ url: https, tls: { cafile: 'x' } })), { message: 'options.tls.cafile is not an option' });
    assert.throws(() => new Client(loose({ url: https, tls: { rejectUnauthorized: 'no' } })), { message: 'options.tls.rejectUnauthorized must be a boolean' });
    assert.throws(() => new Client(loose({ url: https, tls: { ca: [1] } })), { message: 'options.tls.ca must be a PEM string, a Buffer, or an array of them' });
    assert.throws(() => new Client(loose({ url: https, tls: { key: 7 } })), { message: 'options.tls.key must be a PEM string or a Buffer' });
    assert.throws(() => new Client(loose({ url: https, tls: 'yes' })), { message: 'options.tls must be an object' });
  });
});
