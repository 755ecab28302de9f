import { diskUsage, type DiskUsage } from '../lib/disk.js';
import { fill } from '../lib/fill.js';
import { publishLua } from '../lib/paths.js';
import { kib2mib, readRssKiB } from '../../harness/proc.js';
import { detail, fixed, integer, percent, table, type Column, type Result } from '../lib/report.js';
import { startService } from '../lib/server.js';
import { settledStats } from '../lib/stats.js';
import { loadResult, measuredWrk, profileDirFor } from './service-load.js';
import type { Scenario, ScenarioContext } from './types.js';

/** Stored-event marks: 1e5 with --quick, then 1e6, and 1e7 and 1e8 only with --big. */
export function sizeMarks(context: Pick<ScenarioContext, 'quick' | 'big'>): number[] {
  if (context.quick) return [1e5];
  return context.big ? [1e5, 1e6, 1e7, 1e8] : [1e5, 1e6];
}

const kReads = 50;

/** p99 of `kReads` sequential GETs, ms: a reader's view at this size, with ingest idle. */
async function readP99(url: string, paths: () => string): Promise<number> {
  const times: number[] = [];
  for (let index = 0; index < kReads; index++) {
    const started = performance.now();
    const answer = await fetch(`${url}${paths()}`);
    await answer.arrayBuffer();
    if (answer.status !== 200) throw new Error(`GET ${paths()} answered ${answer.status}`);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.ceil(times.length * 0.99) - 1]!;
}

/** Seconds of wrk at each mark: short, so the window adds little to the store it measures. */
const windowSeconds = (context: ScenarioContext): number => (context.quick ? 2 : Math.min(3, context.durationS));

const label = (mark: number): string => mark.toExponential(0).replace('+', '');
const mib = (bytes: number | null): number | null => (bytes === null ? null : Math.round((bytes / 2 ** 20) * 10) / 10);
const kibToMib = (kib: number | null): number | null => (kib === null ? null : Math.round(kib2mib(kib) * 10) / 10);
const nested = (result: Result, key: string, field: string): number | null => {
  const value = (result.details[key] as Record<string, unknown> | undefined)?.[field];
  return typeof value === 'number' ? value : null;
};

/** One row per stored-events mark. */
const sizeColumns: readonly Column[] = [
  ['mark', (r) => r.scenario.slice('scaling-size:'.length)],
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
  ['bytes/event', (r) => integer(detail(r, 'bytes_per_stored_event_at_end'))],
  ['first page p99 ms', (r) => fixed(detail(r, 'first_page_p99_ms'), 1)],
  ['indexed lookup p99 ms', (r) => fixed(detail(r, 'indexed_lookup_p99_ms'), 1)],
  ['fill events/s', (r) => integer(detail(r, 'fill_events_per_s'))],
];

const disk = (usage: DiskUsage): Record<string, number | null> => ({ mib: mib(usage.bytes), allocated_mib: mib(usage.allocatedBytes), wal_mib: mib(usage.walBytes) });

/**
 * Does insert speed or memory degrade as the store grows? One fresh server (--shards, default 2)
 * is filled with unique events (node:http, 1000-event batches) up to each mark; at each mark a
 * short wrk batch-1000 window (-c4, 20% duplicates, ids new to the store) measures events/s, and
 * the server's RSS and data-dir size are read before and after. Results `scaling-size:<mark>`.
 */
export const scalingSize: Scenario = {
  name: 'scaling-size',
  needsBuild: true,
  needsWrk: true,
  variants: (context) => sizeMarks(context).map(label),
  plan: (context) => `fill to ${sizeMarks(context).map(label).join(', ')} stored events, ${windowSeconds(context)} s of wrk at each`,
  async run(context) {
    // The payload's `n` (the event's number) is an --index-field: the lookup column below uses it.
    const service = await startService({ shards: context.shards, args: ['--index-field', 'n'], ...profileDirFor(context, 'scaling-size') });
    const results: Result[] = [];
    let filled = 0;
    try {
      for (const [index, mark] of sizeMarks(context).entries()) {
        const name = `scaling-size:${label(mark)}`;
        const held = (await settledStats(service.url)).unique_processed;
        const filling = mark - held;
        process.stderr.write(`[bench] ${name}: filling ${Math.max(0, filling).toLocaleString('en-US')} events\n`);
        const filledBy = filling > 0 ? await fill(service.url, filling, { prefix: 'f-', first: filled }) : null;
        filled += Math.max(0, filling);
        const before = await settledStats(service.url);
        const rssStart = readRssKiB(service.pid);
        const diskStart = await diskUsage(service.dir);
        const { wrk, serverCpuSeconds } = await measuredWrk(context.wrk!, service, { script: publishLua, batch: 1000, connections: 4, durationS: windowSeconds(context), idPrefix: `w${index}-` });
        const after = await settledStats(service.url);
        const rssEnd = readRssKiB(service.pid);
        const diskEnd = await diskUsage(service.dir);
        const firstPage = await readP99(service.url, () => '/events?topic=auth.prod&limit=100');
        const lookup = await readP99(service.url, () => `/events?payload.n=${Math.floor(Math.random() * Math.max(1, filled))}&limit=10`);
        const window = service.sampler.samples.filter((sample) => sample.at >= wrk.startedAt && sample.at <= wrk.endedAt);
        const peak = window.length === 0 ? null : Math.max(...window.map((sample) => sample.rssKiB));
        const load = {
          options: { wrk: context.wrk!, script: publishLua, shards: context.shards, batch: 1000, connections: 4, durationS: windowSeconds(context) },
          wrk,
          before,
          after,
          sampler: service.sampler,
          highWaterKiB: null,
          serverCpuSeconds,
        };
        const result = loadResult(name, load, wrk.summary.requests - wrk.summary.errors_status, {
          mark,
          stored_at_start: before.unique_processed,
          stored_at_end: after.unique_processed,
          fill_events: filledBy?.events ?? 0,
          fill_s: filledBy?.seconds ?? 0,
          fill_events_per_s: filledBy && filledBy.seconds > 0 ? filledBy.events / filledBy.seconds : null,
          fill_retries_503: filledBy?.retries ?? 0,
          rss_mib_at_start: kibToMib(rssStart),
          rss_mib_at_end: kibToMib(rssEnd),
          disk_at_start: disk(diskStart),
          disk_at_end: disk(diskEnd),
          first_page_p99_ms: firstPage,
          indexed_lookup_p99_ms: lookup,
          bytes_per_stored_event_at_end: after.unique_processed > 0 ? Math.round(diskEnd.bytes / after.unique_processed) : null,
        });
        results.push({ ...result, peak_rss_mib: kibToMib(peak) });
      }
    } finally {
      await service.stop();
    }
    return results;
  },
  summarise: (own) => (own.length === 0 ? null : `scaling-size\n\n${table(sizeColumns, own)}`),
};
