// Stands in for src/workers/worker-file.ts in the unit tests that run the shard and reader
// threads (see built-workers.ts): worker threads do not load TypeScript, so they run the built
// entries in dist/, which `npm run build` emits from the same sources.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function workerFile(name) {
  const path = fileURLToPath(new URL(`../../../dist/${name}.js`, import.meta.url));
  if (!existsSync(path)) throw new Error(`${path} is missing: run npm run build before these tests`);
  return path;
}
