import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { prepareDataDir } from '../../../src/store/data-dir.js';
import { makeTempDir } from '../../helper.js';

describe('prepareDataDir', () => {
  test('the data dir manifest is written whole', async () => {
    const dir = join(await makeTempDir(), 'data');
    prepareDataDir(dir, 3);
    assert.equal(JSON.parse(readFileSync(join(dir, 'aggregator.json'), 'utf8')).shards, 3);
    assert.ok(!existsSync(join(dir, 'aggregator.json.tmp')));
  });
});
