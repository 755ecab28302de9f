import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

describe('package-lock.json', () => {
  test('has an entry for every optional platform package, so npm ci accepts it on a clean machine', () => {
    const script = fileURLToPath(new URL('../scripts/complete-lockfile.mjs', import.meta.url));
    const result = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
  });
});
