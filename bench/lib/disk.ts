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
