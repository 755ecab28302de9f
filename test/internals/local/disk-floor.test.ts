import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { DiskFloor } from '../../../src/local/disk-floor.js';

const root = mkdtempSync(join(tmpdir(), 'disk-floor-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Resolves once `condition` holds; the floor's check is a statfs on the thread pool, so it takes a few turns. */
async function until(condition: () => boolean): Promise<void> {
  for (let turn = 0; turn < 10_000 && !condition(); turn++) await new Promise((resolve) => setImmediate(resolve));
  assert.ok(condition(), 'the check never landed');
}

describe('DiskFloor', () => {
  test('a floor of 0 is off: no problem, and the file system is never asked (even for a dir that does not exist)', async () => {
    const floor = await DiskFloor.watch(join(root, 'missing'), 0);
    assert.equal(floor.problem, null);
    floor.stop();
  });

  test('free space above the floor: no problem from the first look', async () => {
    const floor = await DiskFloor.watch(root, 1);
    assert.equal(floor.problem, null);
    floor.stop();
  });

  test('a floor no disk can meet: the problem is there as soon as watch resolves, naming disk_full and the dir', async () => {
    const floor = await DiskFloor.watch(root, Number.MAX_SAFE_INTEGER);
    assert.ok(floor.problem !== null);
    assert.ok(floor.problem.startsWith('disk_full'), floor.problem);
    assert.ok(floor.problem.includes(root), floor.problem);
    floor.stop();
  });

  test('a dir whose free space cannot be read counts as full', async () => {
    const floor = await DiskFloor.watch(join(root, 'missing'), 1);
    assert.ok(floor.problem?.startsWith('disk_full'), String(floor.problem));
    floor.stop();
  });

  test('it looks again twice a second: the problem comes and goes by itself', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const dir = join(root, 'coming-and-going');
    mkdirSync(dir);
    const floor = await DiskFloor.watch(dir, 1);
    assert.equal(floor.problem, null);
    rmSync(dir, { recursive: true });
    assert.equal(floor.problem, null, 'nothing looks until the next interval');
    t.mock.timers.tick(500);
    await until(() => floor.problem !== null);
    mkdirSync(dir);
    t.mock.timers.tick(500);
    await until(() => floor.problem === null);
    floor.stop();
  });
});
