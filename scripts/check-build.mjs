// `npm start` runs the build that `npm ci` made; it never builds itself. This says what to run
// when there is no build, or when a source file changed after it, instead of failing on a missing
// module or serving old code.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const entry = join(root, 'dist', 'main.js');
if (!existsSync(entry)) fail('dist/main.js is missing: run `npm run build` (`npm ci` builds too), then `npm start`');
const source = join(root, 'src');
if (existsSync(source)) {
  const builtAt = statSync(entry).mtimeMs;
  const newer = newestFile(source);
  if (newer && newer.mtimeMs > builtAt) fail(`dist/ is older than ${newer.path.slice(root.length)}: run \`npm run build\`, then \`npm start\``);
}

function newestFile(dir) {
  let newest = null;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const candidate = entry.isDirectory() ? newestFile(path) : { path, mtimeMs: statSync(path).mtimeMs };
    if (candidate && (!newest || candidate.mtimeMs > newest.mtimeMs)) newest = candidate;
  }
  return newest;
}

function fail(message) {
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
}
