import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { onLines, spawnTracked, waitExit } from '../../harness/children.js';
import { readCpuSeconds, readHostBusySeconds } from '../../harness/proc.js';

/** The JSON line the lua scripts print in done(); the status counts only come from publish-status.lua. */
export interface WrkSummary {
  readonly requests: number;
  readonly duration_us: number;
  readonly p50_us: number;
  readonly p99_us: number;
  readonly errors_status: number;
  readonly errors_connect: number;
  readonly errors_timeout: number;
  readonly status_200?: number;
  readonly status_503?: number;
  readonly status_other?: number;
  /** Only with RATE: requests sent more than 1 ms after their slot, and the latest one's lag. */
  readonly late_sends?: number;
  readonly max_lag_ms?: number;
}

export interface WrkRun {
  readonly url: string;
  readonly script: string;
  readonly threads: number;
  readonly connections: number;
  readonly durationS: number;
  readonly env: Readonly<Record<string, string>>;
}

export interface WrkResult {
  readonly summary: WrkSummary;
  /** performance.now() when wrk was started and when it exited. */
  readonly startedAt: number;
  readonly endedAt: number;
  /** CPU seconds wrk used (last reading before it exited). */
  readonly cpuSeconds: number | null;
  /** CPU seconds the whole machine was busy while wrk ran (every process, all cores). */
  readonly hostBusySeconds: number | null;
}

/** The wrk binary: $WRK if set, else `wrk` on PATH; null when there is none. */
export function findWrk(): string | null {
  const candidates = process.env.WRK ? [process.env.WRK] : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'wrk'));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return null;
}

/** The wrk binary for a bench that cannot run without it: exits with 2 and says how to get it when there is none. */
export function requireWrk(): string {
  const wrk = findWrk();
  if (wrk !== null) return wrk;
  process.stderr.write('wrk is not installed (looked for $WRK, then wrk on PATH): scripts/install-test-tools.sh installs it\n');
  process.exit(2);
}

export function wrkVersion(bin: string): string | null {
  try {
    execFileSync(bin, ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    // `wrk -v` prints its version and exits 1
    const output = `${(error as { stdout?: string }).stdout ?? ''}`;
    return output.split('\n')[0]?.trim() || null;
  }
  return null;
}

/** Runs wrk once, bounded to its duration plus 30 s, and parses the JSON line of the script's done(). */
export async function runWrk(bin: string, run: WrkRun): Promise<WrkResult> {
  const args = ['-t', String(run.threads), '-c', String(run.connections), '-d', `${run.durationS}s`, '-s', run.script, `${run.url}/`];
  const startedAt = performance.now();
  const hostBefore = readHostBusySeconds();
  const child = spawnTracked(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...run.env } });
  const output: string[] = [];
  onLines(child.stdout, (line) => output.push(line));
  onLines(child.stderr, (line) => output.push(line));
  let cpuSeconds: number | null = null;
  const cpuTimer = setInterval(() => {
    if (child.pid !== undefined) cpuSeconds = readCpuSeconds(child.pid) ?? cpuSeconds;
  }, 100);
  const exit = await waitExit(child, (run.durationS + 30) * 1000);
  clearInterval(cpuTimer);
  const endedAt = performance.now();
  const hostAfter = readHostBusySeconds();
  const hostBusySeconds = hostBefore === null || hostAfter === null ? null : hostAfter - hostBefore;
  const line = output.filter((text) => text.startsWith('{"requests"')).pop();
  if (exit.timedOut || exit.code !== 0 || line === undefined) {
    throw new Error(`wrk ${args.join(' ')} failed (${exit.timedOut ? 'timed out' : `exit ${exit.code ?? exit.signal}`})\n${output.slice(-20).join('\n')}`);
  }
  return { summary: JSON.parse(line) as WrkSummary, startedAt, endedAt, cpuSeconds, hostBusySeconds };
}
