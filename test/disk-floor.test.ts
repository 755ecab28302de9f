/**
 * The free-disk floor on a real, small file system: a 48 MiB tmpfs mounted for the test (skipped,
 * saying why, where the machine cannot mount one). Filling it past the floor turns writes into 503
 * `disk_full` with Retry-After and /health into 503 with the reason, reads keep working, nothing
 * acknowledged is lost; removing the filler brings writes back by themselves.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { allEvents, event, makeTempDir, publish, startServer, stats, waitFor } from './helper.js';

const MiB = 1024 * 1024;

async function mountTmpfs(): Promise<string | null> {
  const dir = await makeTempDir();
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', dir], { stdio: 'pipe' });
    return dir;
  } catch {
    return null;
  }
}

describe('disk floor', () => {
  let mounted: string | null = null;
  after(() => {
    if (mounted) execFileSync('umount', ['-l', mounted]);
  });

  test('below --min-free-bytes writes get 503 disk_full, /health says why, and writes resume by themselves', async (t) => {
    mounted = await mountTmpfs();
    if (!mounted) {
      t.skip('cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN; the disk floor is not tested on this machine)');
      return;
    }
    const dataDir = join(mounted, 'data');
    mkdirSync(dataDir);
    const server = await startServer({ dataDir, args: ['--min-free-bytes', String(24 * MiB), '--retry-after', '2'] });
    try {
      const first = await publish(server.url, [event({ topic: 'disk', event_id: 'before-1' }), event({ topic: 'disk', event_id: 'before-2' })]);
      assert.equal(first.status, 200);

      // Fill the file system past the floor.
      const filler = join(mounted, 'filler');
      writeFileSync(filler, Buffer.alloc(30 * MiB, 1));
      await waitFor(async () => (await fetch(`${server.url}/health`)).status === 503, '/health to report the full disk');
      const health = (await (await fetch(`${server.url}/health`)).json()) as { reason: string };
      assert.match(health.reason, /^disk_full: .* MiB free on .*below the --min-free-bytes floor of 24\.0 MiB/);
      const refused = await publish(server.url, event({ topic: 'disk', event_id: 'during' }));
      assert.equal(refused.status, 503);
      assert.equal(refused.body.error.code, 'disk_full');
      assert.equal(refused.headers.get('retry-after'), '2');
      const bulk = await fetch(`${server.url}/es/_bulk`, { method: 'POST', body: '{"create":{"_index":"disk","_id":"es-1"}}\n{}\n' });
      assert.equal(bulk.status, 503, 'every ingest route');
      assert.equal((await allEvents(server.url, 'disk')).length, 2, 'reads go on');

      rmSync(filler);
      await waitFor(async () => (await publish(server.url, event({ topic: 'disk', event_id: 'after' }))).status === 200, 'writes to come back');
      assert.equal((await fetch(`${server.url}/health`)).status, 200);
      assert.deepEqual((await allEvents(server.url, 'disk')).map((item) => item.event_id).sort(), ['after', 'before-1', 'before-2']);
      assert.equal((await stats(server.url)).stored, 3);
    } finally {
      await server.stop();
    }
  });
});
