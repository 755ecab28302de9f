import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Temp dirs made by this run and not removed yet, so an interrupt can remove them. */
const live = new Set<string>();

export async function makeTempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'eoa-bench-'));
  live.add(dir);
  return dir;
}

export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  live.delete(dir);
}

export function removeTempDirsSync(): void {
  for (const dir of live) rmSync(dir, { recursive: true, force: true });
  live.clear();
}
