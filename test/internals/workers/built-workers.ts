/**
 * For unit tests of src modules that start worker threads (ShardPool, PagePool, LocalShards,
 * EmbeddedStorage). Worker threads do not load TypeScript, and src/workers/worker-file.ts names
 * `<entry>.js` beside itself, which exists only in dist/. `useBuiltWorkers()` makes src resolve
 * worker files to the built entries; it must run before the src modules are imported, so test
 * files import those dynamically after calling it.
 */
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';

let registered = false;

export function useBuiltWorkers(): void {
  if (registered) return;
  register('./built-worker-hooks.mjs', import.meta.url);
  registered = true;
}

/** The built shard worker, for ShardOptions.workerFile. */
export const builtShardWorker = fileURLToPath(new URL('../../../dist/shard-worker.js', import.meta.url));
