import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runServer, startServer, makeTempDir } from './helper.js';

describe('start-up validation', () => {
  test('a bad option stops the process with a message naming it', async () => {
    const dataDir = await makeTempDir();
    for (const [args, message] of [
      [['--shards', '0'], /--shards must be an integer >= 1/],
      [['--sync', 'maybe'], /--sync must be one of "full", "interval", "normal"/],
      [['--ring-bytes', '1000'], /--ring-bytes must be/],
    ] as const) {
      const result = await runServer(['--port', '0', '--data-dir', dataDir, ...args]);
      assert.equal(result.code, 1, args.join(' '));
      assert.match(result.stderr, message);
    }
  });

  test('a data dir that cannot be created is refused', async () => {
    const file = join(await makeTempDir(), 'not-a-dir');
    await writeFile(file, 'x');
    const result = await runServer(['--port', '0', '--data-dir', join(file, 'data'), '--shards', '1']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /--data-dir .* cannot be created/);
  });

  test('a port in use is refused with a clear message, and the data dir is released', async () => {
    const running = await startServer({ shards: 1 });
    const dataDir = await makeTempDir();
    const result = await runServer(['--host', '127.0.0.1', '--port', String(running.port), '--data-dir', dataDir, '--shards', '1']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${running.port}`));
    const again = await startServer({ dataDir, shards: 1 });
    assert.equal((await fetch(`${again.url}/health`)).status, 200);
  });

  test('--help lists the options and exits 0', async () => {
    const result = await runServer(['--help']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /--data-dir\s+DATA_DIR/);
    assert.match(result.stdout, /--publish-token\s+PUBLISH_TOKEN/);
  });
});
