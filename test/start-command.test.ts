/**
 * `npm start` never builds: `npm ci` does (prepare), and the prestart check says what to run when
 * the build is missing or older than a source file, instead of failing on a missing module.
 * Exercised on a copy of the check in a scratch tree, so this checkout's dist/ is never touched.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { makeTempDir, runNode } from './helper.js';

const checkScript = fileURLToPath(new URL('../scripts/check-build.mjs', import.meta.url));
const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };

async function scratchTree(): Promise<string> {
  const root = await makeTempDir('aggregator-start-');
  await mkdir(join(root, 'scripts'));
  await mkdir(join(root, 'src', 'http'), { recursive: true });
  await copyFile(checkScript, join(root, 'scripts', 'check-build.mjs'));
  await writeFile(join(root, 'src', 'http', 'server.ts'), '// source');
  return root;
}

describe('npm start', () => {
  test('builds nothing: the build runs at install (prepare), start only checks it', () => {
    assert.equal(packageJson.scripts.prepare, 'node scripts/prepare.mjs');
    assert.equal(packageJson.scripts.prestart, 'node scripts/check-build.mjs');
    assert.doesNotMatch(packageJson.scripts.start!, /build|tsup/);
  });

  test('without a build it says to run npm run build', async () => {
    const root = await scratchTree();
    const result = await runNode([join(root, 'scripts', 'check-build.mjs')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /dist\/main\.js is missing: run `npm run build`/);
  });

  test('with a build older than a source file it names the file and says to rebuild', async () => {
    const root = await scratchTree();
    await mkdir(join(root, 'dist'));
    await writeFile(join(root, 'dist', 'main.js'), '');
    const anHourAgo = new Date(Date.now() - 3_600_000);
    await utimes(join(root, 'dist', 'main.js'), anHourAgo, anHourAgo);
    const stale = await runNode([join(root, 'scripts', 'check-build.mjs')]);
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /dist\/ is older than src\/http\/server\.ts: run `npm run build`/);

    await utimes(join(root, 'dist', 'main.js'), new Date(), new Date());
    const fresh = await runNode([join(root, 'scripts', 'check-build.mjs')]);
    assert.equal(fresh.code, 0, fresh.stderr);
  });
});
