import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { runNode } from './helper.js';

const demoFile = fileURLToPath(new URL('../dist/demo.js', import.meta.url));

describe('npm run demo', () => {
  test('--once publishes 5 000 events with duplicates, prints /stats and the first events, exits 0', async () => {
    const { code, stdout, stderr } = await runNode([demoFile, '--once'], { timeoutMs: 20_000 });
    assert.equal(code, 0, stderr);

    const statsBlock = /== GET \/stats ==\n([\s\S]*?)\n== GET \/events/.exec(stdout);
    assert.ok(statsBlock, `no /stats block in: ${stdout}`);
    const stats = JSON.parse(statsBlock[1]!);
    assert.equal(stats.received, 5000);
    assert.equal(stats.unique_processed + stats.duplicate_dropped, 5000);
    assert.ok(stats.duplicate_dropped > 800 && stats.duplicate_dropped < 1200, `about 20 % duplicates: ${stats.duplicate_dropped}`);
    assert.match(stdout, /verify\s+OK/);

    const events = stdout.slice(stdout.indexOf('== GET /events')).trim().split('\n').slice(1).map((line) => JSON.parse(line));
    assert.equal(events.length, 5);
    // Duplicates take a seq too, so the first stored events have ascending but not contiguous seqs.
    assert.ok(events.every((event, index) => index === 0 || event.seq > events[index - 1].seq), 'ascending seq');
    assert.ok(events.every((event) => typeof event.topic === 'string' && typeof event.payload === 'object'));

    const dataDir = /data dir (\S+),/.exec(stdout)?.[1];
    assert.ok(dataDir && !existsSync(dataDir), 'the temp data dir it created is removed');
  });
});
