import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const clockTicks = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

function statusField(pid: number, field: string): number | null {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null; // the process is gone
  }
}

/** Resident set size of a process (all its threads), KiB, from /proc/<pid>/status. */
export function readRssKiB(pid: number): number | null {
  return statusField(pid, 'VmRSS');
}

/** The kernel's high-water mark of the resident set size, KiB. */
export function readRssHighWaterKiB(pid: number): number | null {
  return statusField(pid, 'VmHWM');
}

/** User + system CPU time a process has used so far, seconds, from /proc/<pid>/stat. */
export function readCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks; // utime, stime (fields 14, 15)
  } catch {
    return null;
  }
}

export const kib2mib = (kib: number): number => kib / 1024;

/** CPU seconds the whole machine spent busy (all cores, everything but idle and iowait) since boot. */
export function readHostBusySeconds(): number | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / clockTicks;
  } catch {
    return null;
  }
}

/** The paths of the files a process holds open (its /proc/<pid>/fd links that are paths; no sockets, pipes). */
export function openFilePaths(pid: number): string[] {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return []; // the process is gone
  }
  return fds.flatMap((fd) => {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      return target.startsWith('/') ? [target] : [];
    } catch {
      return []; // closed meanwhile
    }
  });
}
