import { resolve } from 'node:path';
import { distMain, repoRoot } from '../../harness/paths.js';

/** Absolute paths the benchmark needs, independent of the current directory. */
export { distMain, repoRoot };
export const benchDir = resolve(repoRoot, 'bench');
export const resultsDir = resolve(benchDir, 'results');
export const publishLua = resolve(benchDir, 'wrk/publish.lua');
export const bareIngressEntry = resolve(benchDir, 'baselines/bare-ingress.ts');
export const storeInsertEntry = resolve(benchDir, 'baselines/store-insert.ts');
export const naiveEntry = resolve(benchDir, 'baselines/naive.ts');
