import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { prepareDataDir } from '../../src/store/data-dir.js';
import { ShardDb } from '../../src/store/shard-db.js';
import { makeTempDir } from '../helper.js';

const options = (path: string) => ({ path, shard: 0, shardCount: 1, sync: 'normal' as const });

/** A closed shard file with a few hundred rows, so it spans many pages. */
async function filledShard(): Promise<string> {
  const path = join(await makeTempDir(), 'shard-000.db');
  const db = new ShardDb(options(path));
  const events = Array.from({ length: 500 }, (_, index) => ({ seq: index + 1, topic: 't', eventId: `e${index}`, timestamp: '2025-10-22T10:30:00Z', source: 's', payload: `{"pad":"${'p'.repeat(200)}"}` }));
  db.commit([{ receivedAt: 0, rejected: 0, wantsStatuses: false, events }]);
  db.close();
  return path;
}

describe('shard files', () => {
  test('a new shard file appears complete or not at all: built aside and renamed, no leftovers', async () => {
    const dir = await makeTempDir();
    const path = join(dir, 'shard-000.db');
    writeFileSync(`${path}.init`, 'left by a start that died half-way');
    new ShardDb(options(path)).close();
    assert.ok(statSync(path).size > 0);
    assert.deepEqual(readdirSync(dir).filter((name) => name.includes('.init')), []);
    new ShardDb(options(path)).close(); // and it opens again
  });

  test('an empty, headerless or truncated shard file is refused with its path, and left untouched', async () => {
    const damages: [string, (path: string) => void, RegExp][] = [
      ['empty', (path) => truncateSync(path, 0), /is empty/],
      ['cut inside the header', (path) => truncateSync(path, 60), /not a SQLite database/],
      ['not SQLite', (path) => writeFileSync(path, Buffer.alloc(8192, 0x41)), /not a SQLite database/],
      ['bad page size', (path) => { const bytes = readFileSync(path); bytes.writeUInt16BE(1000, 16); writeFileSync(path, bytes); }, /bad page size/],
      ['cut mid-page', (path) => truncateSync(path, statSync(path).size - 100), /is truncated: .* not a whole number/],
      ['missing its last pages', (path) => truncateSync(path, 4096 * 2), /is truncated: .* header says/],
    ];
    for (const [name, damage, message] of damages) {
      const path = await filledShard();
      damage(path);
      const before = readFileSync(path);
      assert.throws(() => new ShardDb(options(path)), (error: Error) => {
        assert.ok(error.message.startsWith(path), `${name}: ${error.message}`);
        assert.match(error.message, message, name);
        return true;
      });
      assert.deepEqual(readFileSync(path), before, `${name}: the file was changed`);
    }
  });

  test('an error SQLite raises while opening names the file too', async () => {
    const path = await filledShard();
    const bytes = readFileSync(path);
    bytes.fill(0x5a, 4096); // every page but the first: the schema is readable, the tables are not
    writeFileSync(path, bytes);
    assert.throws(() => new ShardDb(options(path)), (error: Error & { code?: string }) => {
      assert.ok(error.message.startsWith(`${path}: `), error.message);
      assert.match(error.code ?? '', /^SQLITE_/);
      return true;
    });
  });

  test('the data dir manifest is written whole', async () => {
    const dir = join(await makeTempDir(), 'data');
    prepareDataDir(dir, 3);
    assert.equal(JSON.parse(readFileSync(join(dir, 'aggregator.json'), 'utf8')).shards, 3);
    assert.ok(!existsSync(join(dir, 'aggregator.json.tmp')));
  });
});
