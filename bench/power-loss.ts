/**
 * Power cuts at scale, for the figures in docs/RELIABILITY.md: the built service on lazyfs
 * (harness/lazyfs/), loaded, cut, remounted and restarted `--cycles` times per `--sync` mode,
 * with every check of test/power-loss.test.ts (harness/power-cycles.ts). Needs root,
 * /dev/fuse and python3-pyfuse3.
 *
 *   node --import tsx bench/power-loss.ts [--cycles 100] [--sync default,interval,normal] [--seed N]
 *        [--sync-interval-ms 100] [--max-requests 400] [--clients 4] [--pause-ms 0]
 *
 * `--max-requests`: a cut comes after 1 to that many acknowledged requests. `--pause-ms`: each
 * client waits that long after each answer (a trickle instead of full load). Prints a line per
 * cycle on stderr, then `POWER {...}` per mode and a table on stdout. `default` runs with no
 * `--sync` flag (full). A check that fails ends the mode's run with the error and exit 1: with
 * default or full, any loss; in every mode, a tailing cursor that skipped an event; with interval,
 * a lost event acknowledged longer before the cut than the interval plus `kIntervalSlackMs`.
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { mulberry32 } from '../src/publisher/generate.js';
import { killTrackedChildren } from '../harness/children.js';
import { mountInTempDir, type LazyMount } from '../harness/lazyfs.js';
import { kIntervalSlackMs, runPowerCycles, type CycleReport, type PowerRunReport } from '../harness/power-cycles.js';
import { removeTempDirsSync } from '../harness/temp-dirs.js';

const { values } = parseArgs({
  options: {
    cycles: { type: 'string', default: '100' },
    sync: { type: 'string', default: 'default,interval,normal' },
    'sync-interval-ms': { type: 'string', default: '100' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    'max-requests': { type: 'string', default: '400' },
    clients: { type: 'string', default: '4' },
    'pause-ms': { type: 'string', default: '0' },
  },
});
const cycles = Number(values.cycles);
const seed = Number(values.seed);
const modes = values.sync.split(',') as ('default' | 'full' | 'interval' | 'normal')[];
const intervalMs = Number(values['sync-interval-ms']);
const log = (message: string): void => void process.stderr.write(`[power-loss] ${message}\n`);

const percentile = (values: readonly number[], p: number): number | null => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
const round = (value: number | null): number | null => (value === null ? null : Math.round(value));

function summary(sync: string, report: PowerRunReport, seconds: number) {
  const losing = report.cycles.filter((cycle) => cycle.lost > 0);
  const windows = losing.map((cycle) => cycle.oldestLostMs!);
  return {
    sync,
    seed,
    cycles: report.cycles.length,
    torn: report.cycles.filter((cycle) => cycle.torn).length,
    acknowledged_requests: report.acknowledgedRequests,
    acknowledged_events: report.acknowledgedEvents,
    lost_events: report.lost,
    lost_percent: Number(((100 * report.lost) / Math.max(1, report.acknowledgedEvents)).toFixed(2)),
    cuts_with_loss: losing.length,
    lost_per_cut_p50: percentile(losing.map((cycle) => cycle.lost), 50),
    lost_per_cut_max: percentile(losing.map((cycle) => cycle.lost), 100),
    window_ms_p50: round(percentile(windows, 50)),
    window_ms_p90: round(percentile(windows, 90)),
    window_ms_max: round(percentile(windows, 100)),
    tailer_skipped: report.skippedByTailer,
    tailer_saw_then_lost: report.seenThenLost,
    restart_ms_max: round(Math.max(...report.cycles.map((cycle) => cycle.restartMs))),
    seconds: Math.round(seconds),
  };
}

function describeCycle(sync: string, cycle: CycleReport): string {
  const window = cycle.oldestLostMs === null ? '' : ` window ${Math.round(cycle.oldestLostMs)} ms`;
  return `${sync} cycle ${cycle.cycle}${cycle.torn ? ' torn' : ''}: ${cycle.acknowledged} acknowledged, ${cycle.lost} lost${window}, restart ${Math.round(cycle.restartMs)} ms`;
}

let mounted: LazyMount | null = null;
process.on('SIGINT', () => {
  killTrackedChildren();
  // lazyfs was just killed: its mount is dead and must go before its temp dir can.
  if (mounted) spawnSync('umount', ['-l', mounted.fs.mountPoint]);
  removeTempDirsSync();
  process.exit(130);
});

const results: ReturnType<typeof summary>[] = [];
let failed = false;
for (const sync of modes) {
  const mount = await mountInTempDir();
  if (typeof mount === 'string') {
    log(`cannot run: ${mount}`);
    process.exit(2);
  }
  mounted = mount;
  const started = performance.now();
  try {
    const report = await runPowerCycles(mount, {
      sync: sync === 'default' ? null : sync,
      ...(sync === 'interval' ? { syncIntervalMs: intervalMs } : {}),
      cycles,
      random: mulberry32(seed),
      maxRequestsBeforeCut: Number(values['max-requests']),
      clients: Number(values.clients),
      pauseMs: Number(values['pause-ms']),
      onCycle: (cycle) => {
        log(describeCycle(sync, cycle));
        if ((sync === 'full' || sync === 'default') && cycle.lost > 0) throw new Error(`--sync ${sync} lost ${cycle.lost} acknowledged events in cycle ${cycle.cycle} (seed ${seed})`);
        if (sync === 'interval' && (cycle.oldestLostMs ?? 0) > intervalMs + kIntervalSlackMs) throw new Error(`--sync interval lost an event acknowledged ${Math.round(cycle.oldestLostMs!)} ms before the cut, past its ${intervalMs} ms window (seed ${seed})`);
      },
    });
    if (report.skippedByTailer > 0) throw new Error(`--sync ${sync}: a tailing consumer's cursor skipped ${report.skippedByTailer} events (seed ${seed})`);
    if ((sync === 'full' || sync === 'default') && report.seenThenLost > 0) throw new Error(`--sync ${sync}: a tailing consumer saw ${report.seenThenLost} events that a cut then lost (seed ${seed})`);
    const line = summary(sync, report, (performance.now() - started) / 1000);
    results.push(line);
    process.stdout.write(`POWER ${JSON.stringify(line)}\n`);
  } catch (error) {
    failed = true;
    log(`${sync}: ${(error as Error).stack ?? error}`);
  } finally {
    await mount.fs.unmount();
    mounted = null;
  }
}

const columns = ['sync', 'cycles', 'torn', 'acknowledged_events', 'lost_events', 'lost_percent', 'cuts_with_loss', 'lost_per_cut_max', 'window_ms_p50', 'window_ms_p90', 'window_ms_max', 'tailer_skipped', 'restart_ms_max'] as const;
process.stdout.write(`\n| ${columns.join(' | ')} |\n|${columns.map(() => '---').join('|')}|\n`);
for (const line of results) process.stdout.write(`| ${columns.map((column) => String(line[column] ?? '—')).join(' | ')} |\n`);
removeTempDirsSync();
process.exit(failed ? 1 : 0);
