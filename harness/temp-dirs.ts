import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Temp dirs made by this process and not removed yet, so an interrupt or the end of a test file can remove them. */
const live = new Set<string>();

export async function makeTempDir(prefix = 'aggregator-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  live.add(dir);
  return dir;
}

export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  live.delete(dir);
}

/** Removes every temp dir still registered. */
export async function removeTempDirs(): Promise<void> {
  await Promise.all([...live].map(removeTempDir));
}

/** The same, synchronously: for a signal handler that exits right after. */
export function removeTempDirsSync(): void {
  for (const dir of live) rmSync(dir, { recursive: true, force: true });
  live.clear();
}
