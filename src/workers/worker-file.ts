import { fileURLToPath } from 'node:url';

/**
 * Path of a worker entry point. The build emits every entry into one flat `dist/`, so a worker
 * file sits beside whichever chunk asks for it.
 */
export function workerFile(name: 'shard-worker' | 'page-worker'): string {
  return fileURLToPath(new URL(`./${name}.js`, import.meta.url));
}
