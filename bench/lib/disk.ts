import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface DiskUsage {
  /** Sum of the files' sizes. */
  readonly bytes: number;
  /** Blocks allocated on disk (st_blocks × 512), what `du` reports. */
  readonly allocatedBytes: number;
  /** Of `bytes`, the SQLite write-ahead logs (*-wal). */
  readonly walBytes: number;
}

/** Disk usage of the files directly in `dir` (a service data dir is flat). */
export async function diskUsage(dir: string): Promise<DiskUsage> {
  let bytes = 0;
  let allocatedBytes = 0;
  let walBytes = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    try {
      const info = await stat(join(dir, entry.name));
      bytes += info.size;
      allocatedBytes += info.blocks * 512;
      if (entry.name.endsWith('-wal')) walBytes += info.size;
    } catch {
      // removed meanwhile (a -shm or -journal file)
    }
  }
  return { bytes, allocatedBytes, walBytes };
}

/**
 * What one fdatasync costs on the disk under `dir`: `count` appends of 4 KiB, each followed by
 * fdatasync (what a commit's WAL frames cost under a syncing mode), ms. A floor for the latency
 * a power-safe acknowledgement can have, and a gauge of how noisy the disk is during a run.
 */
export function fdatasyncLatency(dir: string, count = 100): { p50_ms: number; p99_ms: number; mean_ms: number } {
  const file = join(dir, `fdatasync-probe-${process.pid}`);
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(4096, 1);
  const times: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      writeSync(fd, block);
      const started = performance.now();
      fdatasyncSync(fd);
      times.push(performance.now() - started);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  times.sort((a, b) => a - b);
  const round = (value: number): number => Math.round(value * 1000) / 1000;
  return { p50_ms: round(times[Math.floor(count / 2)]!), p99_ms: round(times[Math.min(count - 1, Math.floor(count * 0.99))]!), mean_ms: round(times.reduce((sum, time) => sum + time, 0) / count) };
}
