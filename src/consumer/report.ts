import type { ConsumerErrorCode } from './http.js';
import { describeVerify, type VerifyResult } from './verify.js';

/**
 * Everything a consumer run found out, in the shape `--json` prints (snake_case, like the server's
 * API), so the machine report and the human one cannot drift apart.
 */
export interface ConsumerReport {
  readonly ok: boolean;
  readonly url: string;
  readonly group: string;
  readonly concurrency: number;
  /** Messages fetched, redeliveries included, and how many of them were redeliveries. */
  readonly fetched: number;
  readonly redelivered: number;
  /** Handler calls that resolved, and that threw (--fail-rate). */
  readonly processed: number;
  readonly failures: number;
  /** Ack answers per status. */
  readonly acked: number;
  readonly already_acked: number;
  readonly unknown_acks: number;
  /** Ids naked, and of them the ones fetched after the stop, handed back unprocessed. */
  readonly naked: number;
  readonly released: number;
  readonly retries: number;
  readonly duration_s: number;
  /** Acked messages per second over the run. */
  readonly rate: number;
  readonly verify: VerifyResult | null;
  readonly interrupted: boolean;
  readonly error: { readonly code: ConsumerErrorCode | 'verify_mismatch'; readonly message: string } | null;
}

export function formatJson(report: ConsumerReport): string {
  return JSON.stringify(report);
}

export function formatHuman(report: ConsumerReport): string {
  const rows: [string, string][] = [
    ['fetched', `${report.fetched} (redelivered ${report.redelivered})`],
    ['processed', `${report.processed} (handler failures ${report.failures})`],
    ['acked', String(report.acked)],
    ['already acked', String(report.already_acked)],
    ['unknown acks', String(report.unknown_acks)],
    ['naked', `${report.naked} (released unprocessed ${report.released})`],
    ['retries', String(report.retries)],
    ['throughput', `${report.rate} acked/s over ${report.duration_s} s`],
  ];
  if (report.verify) rows.push(['verify', describeVerify(report.verify)]);
  const lines = [
    `consumer of group ${report.group} → ${report.url} (concurrency ${report.concurrency})`,
    ...rows.map(([label, value]) => `  ${label.padEnd(20)} ${value}`),
  ];
  if (report.interrupted) lines.push('  interrupted');
  if (report.error) lines.push(`FAILED (${report.error.code}): ${report.error.message}`);
  else lines.push('OK');
  return lines.join('\n');
}
