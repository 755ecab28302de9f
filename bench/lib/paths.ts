import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Absolute paths the benchmark needs, independent of the current directory. */
export const benchDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = resolve(benchDir, '..');
export const distMain = resolve(repoRoot, 'dist/main.js');
export const resultsDir = resolve(benchDir, 'results');
export const publishLua = resolve(benchDir, 'wrk/publish.lua');
export const bareIngressEntry = resolve(benchDir, 'baselines/bare-ingress.ts');
export const storeInsertEntry = resolve(benchDir, 'baselines/store-insert.ts');
export const naiveEntry = resolve(benchDir, 'baselines/naive.ts');
