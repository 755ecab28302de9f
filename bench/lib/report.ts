import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resultsDir } from './paths.js';
import type { SystemInfo } from './system.js';

/** One scenario's outcome; null where a metric does not apply to it. */
export interface Result {
  readonly scenario: string;
  readonly events_per_s: number | null;
  readonly requests_per_s: number | null;
  readonly p50_ms: number | null;
  readonly p99_ms: number | null;
  readonly dup_rate: number | null;
  readonly peak_rss_mib: number | null;
  /** Everything else the scenario measured (cross-checks, RSS over time, status counts...). */
  readonly details: Readonly<Record<string, unknown>>;
}

export interface RatedResult extends Result {
  /** events_per_s divided by the store-limit / ingress-limit baselines' events_per_s. */
  readonly ratio_vs_store_limit: number | null;
  readonly ratio_vs_ingress_limit: number | null;
}

export function rate(results: readonly Result[]): RatedResult[] {
  const baseline = (name: string): number | null => results.find((result) => result.scenario === name)?.events_per_s ?? null;
  const store = baseline('store-limit');
  const ingress = baseline('ingress-limit');
  const ratio = (value: number | null, base: number | null): number | null => (value === null || !base ? null : value / base);
  return results.map((result) => ({
    ...result,
    ratio_vs_store_limit: ratio(result.events_per_s, store),
    ratio_vs_ingress_limit: ratio(result.events_per_s, ingress),
  }));
}

const fixed = (value: number | null, digits: number): string => (value === null ? '-' : value.toFixed(digits));
const integer = (value: number | null): string => (value === null ? '-' : Math.round(value).toLocaleString('en-US'));
const percent = (value: number | null): string => (value === null ? '-' : `${(value * 100).toFixed(1)}%`);

const columns: readonly [header: string, cell: (result: RatedResult) => string][] = [
  ['scenario', (r) => r.scenario],
  ['events/s', (r) => integer(r.events_per_s)],
  ['req/s', (r) => integer(r.requests_per_s)],
  ['p50 ms', (r) => fixed(r.p50_ms, 2)],
  ['p99 ms', (r) => fixed(r.p99_ms, 2)],
  ['dup rate', (r) => percent(r.dup_rate)],
  ['peak RSS MiB', (r) => fixed(r.peak_rss_mib, 1)],
  ['vs store-limit', (r) => fixed(r.ratio_vs_store_limit, 2)],
  ['vs ingress-limit', (r) => fixed(r.ratio_vs_ingress_limit, 2)],
];

/** A Markdown-compatible table, padded so it also reads well in a terminal. */
export function formatTable(results: readonly RatedResult[]): string {
  const rows = [columns.map(([header]) => header), ...results.map((result) => columns.map(([, cell]) => cell(result)))];
  const widths = columns.map((_, index) => Math.max(...rows.map((row) => row[index]!.length)));
  const line = (row: readonly string[]): string => `| ${row.map((cell, index) => (index === 0 ? cell.padEnd(widths[index]!) : cell.padStart(widths[index]!))).join(' | ')} |`;
  const rule = `|${widths.map((width, index) => (index === 0 ? `${'-'.repeat(width + 1)}-` : `${'-'.repeat(width + 1)}:`)).join('|')}|`;
  return [line(rows[0]!), rule, ...rows.slice(1).map(line)].join('\n');
}

export function benchLine(result: RatedResult): string {
  return `BENCH ${JSON.stringify(result)}`;
}

/** Writes bench/results/<ISO date>.json (colons replaced by '-' for portable file names), atomically. */
export async function saveResults(date: Date, payload: { system: SystemInfo; options: unknown; results: readonly RatedResult[] }): Promise<string> {
  await mkdir(resultsDir, { recursive: true });
  const file = join(resultsDir, `${date.toISOString().replace(/:/g, '-')}.json`);
  await writeFile(`${file}.tmp`, `${JSON.stringify(payload, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
  return file;
}
