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
  /** events_per_s divided by the store-limit / ingress-limit / naive baselines' events_per_s. */
  readonly ratio_vs_store_limit: number | null;
  readonly ratio_vs_ingress_limit: number | null;
  readonly ratio_vs_naive: number | null;
}

/** Micro benchmark results are named `micro:<name>`; the rest are end-to-end runs and baselines. */
export const isMicro = (result: Result): boolean => result.scenario.startsWith('micro:');

export function rate(results: readonly Result[]): RatedResult[] {
  const baseline = (name: string): number | null => results.find((result) => result.scenario === name)?.events_per_s ?? null;
  const store = baseline('store-limit');
  const ingress = baseline('ingress-limit');
  const naive = baseline('naive');
  const ratio = (value: number | null, base: number | null, applies: boolean): number | null => (!applies || value === null || !base ? null : value / base);
  return results.map((result) => {
    const applies = !isMicro(result);
    return {
      ...result,
      ratio_vs_store_limit: ratio(result.events_per_s, store, applies),
      ratio_vs_ingress_limit: ratio(result.events_per_s, ingress, applies),
      ratio_vs_naive: ratio(result.events_per_s, naive, applies),
    };
  });
}

const fixed = (value: number | null, digits: number): string => (value === null ? '-' : value.toFixed(digits));
const integer = (value: number | null): string => (value === null ? '-' : Math.round(value).toLocaleString('en-US'));
const percent = (value: number | null): string => (value === null ? '-' : `${(value * 100).toFixed(1)}%`);

type Column = readonly [header: string, cell: (result: RatedResult) => string];

const columns: readonly Column[] = [
  ['scenario', (r) => r.scenario],
  ['events/s', (r) => integer(r.events_per_s)],
  ['req/s', (r) => integer(r.requests_per_s)],
  ['p50 ms', (r) => fixed(r.p50_ms, 2)],
  ['p99 ms', (r) => fixed(r.p99_ms, 2)],
  ['dup rate', (r) => percent(r.dup_rate)],
  ['peak RSS MiB', (r) => fixed(r.peak_rss_mib, 1)],
  ['vs store-limit', (r) => fixed(r.ratio_vs_store_limit, 2)],
  ['vs ingress-limit', (r) => fixed(r.ratio_vs_ingress_limit, 2)],
  ['vs naive', (r) => fixed(r.ratio_vs_naive, 2)],
];

const detail = (result: RatedResult, key: string): number | null => {
  const value = result.details[key];
  return typeof value === 'number' ? value : null;
};
const micros = (ms: number | null): string => (ms === null ? '-' : (ms * 1000).toFixed(1));

const microColumns: readonly Column[] = [
  ['micro', (r) => r.scenario.slice('micro:'.length)],
  ['ops/s', (r) => integer(detail(r, 'ops_per_s'))],
  ['± rme', (r) => `±${fixed(detail(r, 'rme_pct'), 2)}%`],
  ['mean µs/op', (r) => micros(detail(r, 'mean_ms'))],
  ['p99 µs/op', (r) => micros(r.p99_ms)],
  ['events/op', (r) => integer(detail(r, 'events_per_op'))],
  ['events/s', (r) => integer(r.events_per_s)],
  ['MB/s', (r) => fixed(detail(r, 'mb_per_s'), 1)],
  ['samples', (r) => integer(detail(r, 'samples'))],
];

/** A Markdown-compatible table, padded so it also reads well in a terminal. */
function table(columnList: readonly Column[], results: readonly RatedResult[]): string {
  const rows = [columnList.map(([header]) => header), ...results.map((result) => columnList.map(([, cell]) => cell(result)))];
  const widths = columnList.map((_, index) => Math.max(...rows.map((row) => row[index]!.length)));
  const line = (row: readonly string[]): string => `| ${row.map((cell, index) => (index === 0 ? cell.padEnd(widths[index]!) : cell.padStart(widths[index]!))).join(' | ')} |`;
  const rule = `|${widths.map((width, index) => (index === 0 ? `${'-'.repeat(width + 1)}-` : `${'-'.repeat(width + 1)}:`)).join('|')}|`;
  return [line(rows[0]!), rule, ...rows.slice(1).map(line)].join('\n');
}

/** The end-to-end and baseline results (micro benchmarks have their own table). */
export function formatTable(results: readonly RatedResult[]): string {
  return table(columns, results.filter((result) => !isMicro(result)));
}

/** The micro benchmarks: per-op time with tinybench's relative margin of error. */
export function formatMicroTable(results: readonly RatedResult[]): string {
  return table(microColumns, results.filter(isMicro));
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

const nested = (result: RatedResult, key: string, field: string): number | null => {
  const value = (result.details[key] as Record<string, unknown> | undefined)?.[field];
  return typeof value === 'number' ? value : null;
};

const sizeColumns: readonly Column[] = [
  ['stored at start', (r) => integer(detail(r, 'stored_at_start'))],
  ['events/s', (r) => integer(r.events_per_s)],
  ['p50 ms', (r) => fixed(r.p50_ms, 2)],
  ['p99 ms', (r) => fixed(r.p99_ms, 2)],
  ['dup rate', (r) => percent(r.dup_rate)],
  ['RSS MiB start', (r) => fixed(detail(r, 'rss_mib_at_start'), 1)],
  ['RSS MiB peak', (r) => fixed(r.peak_rss_mib, 1)],
  ['RSS MiB end', (r) => fixed(detail(r, 'rss_mib_at_end'), 1)],
  ['disk MiB start', (r) => fixed(nested(r, 'disk_at_start', 'mib'), 1)],
  ['disk MiB end', (r) => fixed(nested(r, 'disk_at_end', 'mib'), 1)],
  ['WAL MiB end', (r) => fixed(nested(r, 'disk_at_end', 'wal_mib'), 1)],
  ['stored at end', (r) => integer(detail(r, 'stored_at_end'))],
  ['fill events/s', (r) => integer(detail(r, 'fill_events_per_s'))],
];

/** scaling-size: one row per stored-events mark. */
export function formatScalingSizeTable(results: readonly RatedResult[]): string {
  return table([['mark', (r) => r.scenario.slice('scaling-size:'.length)], ...sizeColumns], results.filter((result) => result.scenario.startsWith('scaling-size:')));
}
