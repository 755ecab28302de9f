// npm runs this after `npm ci` / `npm install` in a checkout: the one place the service is built,
// so that `npm start` never rebuilds (a start that empties dist/ under a running sibling, or
// spends seconds on tsup, is a start a supervisor cannot trust). A production install from a
// package or an image has dist/ and no sources: nothing to build then.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const root = new URL('../', import.meta.url);
if (!existsSync(new URL('src/main.ts', root)) || !existsSync(new URL('node_modules/.bin/tsup', root))) {
  console.log('prepare: no sources or no tsup here; using the dist/ that came with the package');
  process.exit(0);
}
const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
process.exit(build.status ?? 1);
