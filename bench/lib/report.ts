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

/** A result with its events/s divided by each baseline's: `ratio_vs_<baseline, - as _>`, null where it does not apply. */
export type RatedResult = Result & { readonly [ratio: `ratio_vs_${string}`]: number | null };

export const ratioKey = (baseline: string): `ratio_vs_${string}` => `ratio_vs_${baseline.replaceAll('-', '_')}`;

/** Rates `results` against the events/s of each named baseline found in `all`; with `applies` false, every ratio is null. */
export function rate(results: readonly Result[], all: readonly Result[], baselines: readonly string[], applies = true): RatedResult[] {
  const rates = baselines.map((name) => [ratioKey(name), all.find((result) => result.scenario === name)?.events_per_s ?? null] as const);
  return results.map((result) => {
    const ratios: Record<`ratio_vs_${string}`, number | null> = {};
    for (const [key, base] of rates) ratios[key] = !applies || result.events_per_s === null || !base ? null : result.events_per_s / base;
    return { ...result, ...ratios };
  });
}

export const fixed = (value: number | null, digits: number): string => (value === null ? '-' : value.toFixed(digits));
export const integer = (value: number | null): string => (value === null ? '-' : Math.round(value).toLocaleString('en-US'));
export const percent = (value: number | null): string => (value === null ? '-' : `${(value * 100).toFixed(1)}%`);

export type Column = readonly [header: string, cell: (result: RatedResult) => string];

const columns: readonly Column[] = [
  ['scenario', (r) => r.scenario],
  ['events/s', (r) => integer(r.events_per_s)],
  ['req/s', (r) => integer(r.requests_per_s)],
  ['p50 ms', (r) => fixed(r.p50_ms, 2)],
  ['p99 ms', (r) => fixed(r.p99_ms, 2)],
  ['dup rate', (r) => percent(r.dup_rate)],
  ['peak RSS MiB', (r) => fixed(r.peak_rss_mib, 1)],
];

/** A number in `details`, or null. */
export const detail = (result: Result, key: string): number | null => {
  const value = result.details[key];
  return typeof value === 'number' ? value : null;
};

/** A Markdown-compatible table, padded so it also reads well in a terminal. */
export function table(columnList: readonly Column[], results: readonly RatedResult[]): string {
  const rows = [columnList.map(([header]) => header), ...results.map((result) => columnList.map(([, cell]) => cell(result)))];
  const widths = columnList.map((_, index) => Math.max(...rows.map((row) => row[index]!.length)));
  const line = (row: readonly string[]): string => `| ${row.map((cell, index) => (index === 0 ? cell.padEnd(widths[index]!) : cell.padStart(widths[index]!))).join(' | ')} |`;
  const rule = `|${widths.map((width, index) => (index === 0 ? `${'-'.repeat(width + 1)}-` : `${'-'.repeat(width + 1)}:`)).join('|')}|`;
  return [line(rows[0]!), rule, ...rows.slice(1).map(line)].join('\n');
}

/** The end-to-end and baseline results, with a ratio column per baseline. */
export function formatTable(results: readonly RatedResult[], baselines: readonly string[]): string {
  const ratios = baselines.map((name): Column => [`vs ${name}`, (r) => fixed(r[ratioKey(name)] ?? null, 2)]);
  return table([...columns, ...ratios], results);
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
