import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backoffDelay, kBackoffBaseMs, kBackoffCapMs, kRetryableStatuses, parseRetryAfter } from '../../../src/client/backoff.js';

describe('backoff', () => {
  test('full jitter below min(cap, base * 2^attempt)', () => {
    assert.equal(backoffDelay(0, null, () => 0), 0);
    assert.ok(backoffDelay(0, null, () => 0.999999) < kBackoffBaseMs);
    assert.ok(backoffDelay(3, null, () => 0.999999) < kBackoffBaseMs * 8);
    for (const attempt of [7, 10, 30, 1000]) {
      const delay = backoffDelay(attempt, null, () => 0.999999);
      assert.ok(delay < kBackoffCapMs && delay >= kBackoffCapMs - 1, `attempt ${attempt}: capped, got ${delay}`);
    }
    assert.equal(backoffDelay(4, null, () => 0.5), (kBackoffBaseMs * 16) / 2);
  });

  test('Retry-After is a floor, with the jitter on top', () => {
    for (const random of [0, 0.3, 0.999999]) {
      for (const attempt of [0, 5, 50]) {
        const delay = backoffDelay(attempt, 2000, () => random);
        assert.ok(delay >= 2000, `waits at least Retry-After, got ${delay}`);
        assert.ok(delay < 2000 + kBackoffCapMs, `jitter on top stays under the cap, got ${delay}`);
      }
    }
    // A Retry-After above the cap still wins: the server knows when it can take more.
    assert.ok(backoffDelay(0, 60_000, () => 0) >= 60_000);
  });

  test('Retry-After parsing: seconds, an HTTP date, or nothing', () => {
    assert.equal(parseRetryAfter('2'), 2000);
    assert.equal(parseRetryAfter(' 0 '), 0);
    assert.equal(parseRetryAfter(undefined), null);
    assert.equal(parseRetryAfter('soon'), null);
    const now = Date.UTC(2025, 0, 1, 0, 0, 0);
    assert.equal(parseRetryAfter(new Date(now + 3000).toUTCString(), now), 3000);
    assert.equal(parseRetryAfter(new Date(now - 3000).toUTCString(), now), 0);
  });

  test('retried statuses: the aggregator\'s 503, proxies\' 502 and 504, 408 and 429; never a 4xx that says the request is wrong', () => {
    for (const status of [408, 429, 502, 503, 504]) assert.ok(kRetryableStatuses.has(status), `${status} is retried`);
    for (const status of [200, 400, 401, 403, 413, 415, 422, 500, 501]) assert.ok(!kRetryableStatuses.has(status), `${status} is final`);
  });
});
