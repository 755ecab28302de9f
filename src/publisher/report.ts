import type { PublisherErrorCode } from './errors.js';
import type { PublisherOptions } from './options.js';
import { describeVerify, type VerifyResult } from './verify.js';

/**
 * Everything a run found out, in the shape `--json` prints (snake_case, like the server's API), so
 * the machine report and the human one cannot drift apart.
 */
export interface PublisherReport {
  readonly ok: boolean;
  readonly run_id: string;
  readonly seed: number;
  readonly url: string;
  readonly mode: PublisherOptions['mode'];
  readonly format: PublisherOptions['format'];
  readonly concurrency: number;
  /** Events the run was asked to send. */
  readonly events_planned: number;
  /** Events in requests that were sent at least once. */
  readonly events_sent: number;
  /** Events in requests answered 200. */
  readonly events_acknowledged: number;
  /** As the server reported them, summed over the final 200 of each request. */
  readonly unique: number;
  readonly duplicates: number;
  /** By construction: distinct pairs generated, and repeats among the events sent. */
  readonly expected_unique: number;
  readonly expected_duplicates: number;
  /** HTTP attempts, retries included. */
  readonly requests: number;
  readonly retries: number;
  readonly failed_requests: number;
  readonly elapsed_s: number;
  readonly events_per_s: number;
  /** Round trip of each acknowledged request's successful attempt; null when none succeeded. */
  readonly latency_ms: { readonly p50: number | null; readonly p99: number | null };
  readonly verify: VerifyResult | null;
  readonly interrupted: boolean;
  /** The first final failure; the others are counted in failed_requests. */
  readonly error: { readonly code: PublisherErrorCode | 'verify_mismatch'; readonly message: string } | null;
}

/** Nearest-rank percentile of ascending `sorted`; null for no samples. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function latencySummary(samples: readonly number[]): PublisherReport['latency_ms'] {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: round(percentile(sorted, 50)), p99: round(percentile(sorted, 99)) };
}

export function formatJson(report: PublisherReport): string {
  return JSON.stringify(report);
}

export function formatHuman(report: PublisherReport): string {
  const latency = (value: number | null): string => (value === null ? 'n/a' : `${value} ms`);
  const rows: [string, string][] = [
    ['events sent', `${report.events_sent} of ${report.events_planned}`],
    ['acknowledged', String(report.events_acknowledged)],
    ['unique (server)', String(report.unique)],
    ['duplicates (server)', String(report.duplicates)],
    ['expected duplicates', `${report.expected_duplicates} (distinct pairs ${report.expected_unique})`],
    ['requests', `${report.requests} (retries ${report.retries}, failed ${report.failed_requests})`],
    ['throughput', `${report.events_per_s} events/s over ${report.elapsed_s} s`],
    ['latency p50 / p99', `${latency(report.latency_ms.p50)} / ${latency(report.latency_ms.p99)}`],
  ];
  if (report.verify) rows.push(['verify', describeVerify(report.verify)]);
  const lines = [
    `publisher run ${report.run_id} → ${report.url} (mode ${report.mode}, format ${report.format}, concurrency ${report.concurrency}, seed ${report.seed})`,
    ...rows.map(([label, value]) => `  ${label.padEnd(20)} ${value}`),
  ];
  if (report.interrupted) lines.push('  interrupted before every event was acknowledged');
  if (report.error) lines.push(`FAILED (${report.error.code}): ${report.error.message}`);
  else lines.push('OK');
  return lines.join('\n');
}

function round(value: number | null): number | null {
  return value === null ? null : Math.round(value * 100) / 100;
}
