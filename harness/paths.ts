import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout's root, independent of the current directory. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The built service; `npm run build` (the pretest and bench scripts) writes it. */
export const distMain = resolve(repoRoot, 'dist/main.js');
