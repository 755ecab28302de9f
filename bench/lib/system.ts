import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { repoRoot } from './paths.js';

export interface SystemInfo {
  readonly node: string;
  readonly cpu_model: string;
  readonly cores: number;
  readonly available_parallelism: number;
  readonly total_mem_gib: number;
  readonly kernel: string;
  readonly wrk: string | null;
  /** 1-minute load average when the run started: other work on the machine skews the numbers. */
  readonly loadavg_1m: number;
  /** HEAD, and whether src/ differed from it (the benchmark runs the working tree's build). */
  readonly git_commit: string | null;
  readonly src_modified: boolean | null;
  readonly date: string;
}

function git(args: readonly string[]): string | null {
  try {
    return execFileSync('git', [...args], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

export function systemInfo(wrk: string | null, date: Date): SystemInfo {
  const cpuList = cpus();
  const status = git(['status', '--porcelain', '--', 'src']);
  return {
    node: process.version,
    cpu_model: cpuList[0]?.model.trim() ?? 'unknown',
    cores: cpuList.length,
    available_parallelism: availableParallelism(),
    total_mem_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${process.platform} ${release()}`,
    wrk,
    loadavg_1m: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    git_commit: git(['rev-parse', '--short', 'HEAD']),
    src_modified: status === null ? null : status.length > 0,
    date: date.toISOString(),
  };
}
