import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { defaults, helpText, parseCommandLine, resolveConfig } from '../../src/config.js';

describe('config', () => {
  test('the contract defaults', () => {
    assert.equal(defaults.port, 8080);
    assert.equal(defaults.host, '0.0.0.0');
    assert.equal(defaults.dataDir, './data');
    assert.equal(defaults.shards, Math.max(1, availableParallelism()));
    assert.equal(defaults.maxBodyBytes, 16 * 1024 * 1024);
    assert.equal(defaults.maxBatch, 10_000);
    assert.equal(defaults.maxEventBytes, 64 * 1024);
    assert.equal(defaults.sync, 'full');
    assert.equal(defaults.syncIntervalMs, 100);
    assert.ok(Object.isFrozen(defaults));
  });

  test('a flag wins over the environment, which wins over the default', () => {
    const { config } = parseCommandLine(['--port', '9000', '--shards=3'], { PORT: '7000', DATA_DIR: '/tmp/x', MAX_BATCH: '5', SHARDS: '9' });
    assert.equal(config.port, 9000);
    assert.equal(config.shards, 3);
    assert.equal(config.dataDir, '/tmp/x');
    assert.equal(config.maxBatch, 5);
    assert.equal(config.host, '0.0.0.0');
    assert.ok(Object.isFrozen(config));
    assert.equal(parseCommandLine([], {}).config.dataDir, resolve('./data'));
  });

  test('a bad value names the option and the rule', () => {
    const cases: [string[], RegExp][] = [
      [['--shards', '0'], /--shards must be an integer >= 1/],
      [['--port', '70000'], /--port must be an integer >= 0 and <= 65535/],
      [['--port', 'http'], /--port must be an integer.*"http"/],
      [['--sync', 'sometimes'], /--sync must be one of "full", "interval", "normal"/],
      [['--ring-bytes', '100000'], /--ring-bytes must be an integer .* and a power of two, got 100000/],
      [['--max-body-bytes=-1'], /--max-body-bytes must be an integer >= 1/],
      [['--log-level', 'loud'], /--log-level must be one of/],
      [['--no-such-flag'], /Unknown option '--no-such-flag'/],
    ];
    for (const [argv, message] of cases) assert.throws(() => parseCommandLine(argv, {}), { code: 'config_invalid', message }, argv.join(' '));
    assert.throws(() => resolveConfig({ readers: 0 }), /--readers must be an integer >= 1/);
  });

  test('--help lists every option with its environment variable and default', () => {
    assert.equal(parseCommandLine(['--help'], {}).help, true);
    const text = helpText();
    for (const flag of ['--port', '--host', '--data-dir', '--shards', '--max-body-bytes', '--max-batch', '--ring-bytes', '--sync', '--readers']) assert.match(text, new RegExp(flag));
    for (const env of ['PORT', 'HOST', 'DATA_DIR', 'SHARDS', 'MAX_BODY_BYTES', 'MAX_BATCH', 'RING_BYTES', 'SYNC']) assert.match(text, new RegExp(env));
  });
});

describe('docs/CONFIGURATION.md', () => {
  test('documents every option with its flag and environment variable', async () => {
    const { readFile } = await import('node:fs/promises');
    const configuration = await readFile(new URL('../../docs/CONFIGURATION.md', import.meta.url), 'utf8');
    for (const line of helpText().split('\n').filter((text) => text.startsWith('  --') && !text.includes('--help'))) {
      const [flag, env] = line.trim().split(/\s+/);
      assert.ok(configuration.includes(`| \`${flag}\` | \`${env}\` |`), `${flag} / ${env} is missing from docs/CONFIGURATION.md's table`);
    }
  });

  test('cluster mode: the NATS URLs are checked, retention is taken, and what it cannot do is refused, not ignored', () => {
    const urls = 'nats://127.0.0.1:4222,nats://127.0.0.1:4223';
    assert.equal(resolveConfig({ cluster: urls }).cluster, urls);
    assert.throws(() => resolveConfig({ cluster: 'http://127.0.0.1:4222' }), { message: /--cluster/ });
    // A node id breaks a rule the message names, with the value.
    assert.throws(() => resolveConfig({ nodeId: 'a b' }), { code: 'config_invalid', message: '--node-id must be a string (at most 64 characters, matching ^[A-Za-z0-9_.-]*$), got "a b"' });
    assert.match(resolveConfig({}).nodeId, /-\d+$/, 'no --node-id: the host name and process id');
    // The data-dir budget measures file pages, which differ between replicas: refused, saying so.
    assert.throws(() => resolveConfig({ cluster: urls, maxDataBytes: '1GiB' }), { message: /--max-data-bytes is not available in cluster mode: .*pages.*differ.*--retention-bytes/ });
    // Retention and forgetting travel through the shard logs: accepted, and still validated.
    const retained = resolveConfig({ cluster: urls, retention: 'debug.*=1d', retentionBytes: '*=1GiB', forgetAfter: '400d' });
    assert.deepEqual([retained.retention, retained.retentionBytes, retained.forgetAfter], [[{ pattern: 'debug.*', maxAgeMs: 86_400_000 }], [{ pattern: '*', maxBytes: 2 ** 30 }], 400 * 86_400_000]);
    assert.throws(() => resolveConfig({ cluster: urls, retention: 'debug' }), { message: /--retention/ });
    assert.throws(() => resolveConfig({ cluster: urls, forgetAfter: 'soon' }), { message: /--forget-after/ });
    assert.throws(() => resolveConfig({ cluster: urls, ringBytes: 1024 * 1024 }), { message: /--ring-bytes/ });
    assert.throws(() => resolveConfig({ cluster: urls, maxEventBytes: 1024 * 1024 }), { message: /--max-event-bytes/ });
    // The same knobs without --cluster are the single node's and fine.
    assert.deepEqual(resolveConfig({ retention: '*=1d' }).retention, [{ pattern: '*', maxAgeMs: 86_400_000 }]);
  });
});
