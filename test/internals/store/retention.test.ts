import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDuration } from '../../../src/events/time-bound.js';
import { parseRetention, parseSize, RetentionPolicy } from '../../../src/store/retention.js';

describe('retention rules', () => {
  test('durations: ms, s, m, h, d', () => {
    assert.deepEqual(['250ms', '90s', '15m', '12h', '30d'].map(parseDuration), [250, 90_000, 900_000, 43_200_000, 2_592_000_000]);
    for (const bad of ['', '0s', '1w', '1.5h', '-1d', '5 days', 'd']) assert.equal(parseDuration(bad), null, bad);
  });

  test('the first matching pattern decides; no match keeps forever', () => {
    const policy = new RetentionPolicy(parseRetention('audit.*=365d, debug.*=1d ,*.tmp=1h'));
    assert.equal(policy.maxAgeOf('audit.login'), 365 * 86_400_000);
    assert.equal(policy.maxAgeOf('debug.web'), 86_400_000);
    assert.equal(policy.maxAgeOf('x.tmp'), 3_600_000);
    assert.equal(policy.maxAgeOf('auditlog'), null, 'the dot is literal');
    assert.equal(policy.maxAgeOf('orders'), null);
    assert.equal(new RetentionPolicy(parseRetention('*=30d,audit=1d')).maxAgeOf('audit'), 30 * 86_400_000, 'order matters');
    assert.equal(new RetentionPolicy(parseRetention('')).active, false);
  });

  test('a malformed rule is refused, naming it', () => {
    for (const bad of ['debug', 'debug=', '=1d', 'a=1d=2d', 'a b=1d', 'a=1d,,b=1d']) assert.throws(() => parseRetention(bad), /retention rule .* is not/, bad);
  });

  test('sizes, and both kinds of rule on one topic', () => {
    assert.deepEqual(['4096', '10KB', '500MiB', '1GiB', '2GB'].map(parseSize), [4096, 10_000, 500 * 2 ** 20, 2 ** 30, 2e9]);
    for (const bad of ['', '0', '1.5GiB', '1gb', 'GiB', '-1']) assert.equal(parseSize(bad), null, bad);
    const policy = new RetentionPolicy(parseRetention('debug.*=1d', 'debug.web=1GiB,*=10GiB'));
    assert.deepEqual(policy.limitsOf('debug.web'), { maxAgeMs: 86_400_000, maxBytes: 2 ** 30 });
    assert.deepEqual(policy.limitsOf('orders'), { maxAgeMs: null, maxBytes: 10 * 2 ** 30 });
    assert.equal(new RetentionPolicy(parseRetention('debug.*=1d')).limitsOf('orders'), null);
    assert.throws(() => parseRetention('', 'x=1d'), /is not <topic pattern>=<size>/);
  });
});
