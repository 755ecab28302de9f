import type { StatsCounters } from './client.js';

export interface VerifyExpectation {
  /** Events acknowledged by the server in this run. */
  readonly sent: number;
  /** Distinct (topic, event_id) pairs among them, assumed new to the server. */
  readonly distinct: number;
  /**
   * Events of failed attempts that may have been committed before they were retried (a network
   * error after sending, or a 503 from a shard that failed mid-request). Each such copy adds to
   * `received` and `duplicate_dropped` once more; with no such retry the check is exact.
   */
  readonly possiblyStoredTwice: number;
}

export interface VerifyResult {
  readonly ok: boolean;
  readonly expected: StatsCounters;
  /** How much each counter moved between the two reads of /stats. */
  readonly actual: StatsCounters;
  readonly slack: number;
}

/**
 * Compares how /stats moved with what this run sent. It assumes no other publisher wrote to the
 * aggregator meanwhile; then `unique_processed` must move by exactly the distinct pairs, and
 * `received` and `duplicate_dropped` by exactly the sent events and the repeats, plus the same
 * extra (at most the slack) for re-sent copies of attempts that were committed before failing.
 */
export function verifyStats(before: StatsCounters, after: StatsCounters, expectation: VerifyExpectation): VerifyResult {
  const actual: StatsCounters = {
    received: after.received - before.received,
    unique_processed: after.unique_processed - before.unique_processed,
    duplicate_dropped: after.duplicate_dropped - before.duplicate_dropped,
  };
  const expected: StatsCounters = {
    received: expectation.sent,
    unique_processed: expectation.distinct,
    duplicate_dropped: expectation.sent - expectation.distinct,
  };
  const extra = actual.received - expected.received;
  const ok =
    actual.unique_processed === expected.unique_processed &&
    actual.duplicate_dropped - expected.duplicate_dropped === extra &&
    extra >= 0 &&
    extra <= expectation.possiblyStoredTwice;
  return { ok, expected, actual, slack: expectation.possiblyStoredTwice };
}

export function describeVerify(result: VerifyResult): string {
  const counters = (['received', 'unique_processed', 'duplicate_dropped'] as const).map((name) => {
    const mark = !result.ok && result.actual[name] !== result.expected[name] ? ' ≠' : '';
    return `${name} +${result.actual[name]} (expected ${result.expected[name]})${mark}`;
  });
  const slack = result.slack > 0 ? `; up to ${result.slack} extra received/duplicate_dropped allowed for retried attempts that may have committed` : '';
  return `${result.ok ? 'OK' : 'MISMATCH'}: ${counters.join(', ')}${slack}`;
}
