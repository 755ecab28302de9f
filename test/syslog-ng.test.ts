/**
 * A real syslog-ng (Debian's syslog-ng-core with -mod-http and -scl, which
 * scripts/install-test-tools.sh installs) reading a log file and shipping it with its own
 * `elasticsearch-http()` destination to /es/_bulk, with `custom_id()` naming each line: every line
 * is stored once, and a replay of the whole file (a fresh persist file makes syslog-ng read it
 * again from the start) stores nothing new.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { spawnTracked, stopChild } from '../harness/children.js';
import { missingCommand } from '../harness/tools.js';
import { allEvents, getJson, makeTempDir, startServer, waitFor } from './helper.js';

describe('syslog-ng elasticsearch-http()', { skip: missingCommand('syslog-ng') ?? false }, () => {
  test('ships a file once; a replay of the same lines stores nothing new', { timeout: 60_000 }, async () => {
    const server = await startServer();
    const dir = await makeTempDir('aggregator-syslog-ng-');
    const input = join(dir, 'app.log');
    await writeFile(input, Array.from({ length: 300 }, (_, index) => `line-${index}`).join('\n') + '\n');
    const config = join(dir, 'syslog-ng.conf');
    await writeFile(
      config,
      `@version: 3.38
@include "scl.conf"
options { stats_freq(0); };
source s_app { file("${input}" follow-freq(0.1) flags(no-parse)); };
destination d_aggregator { elasticsearch-http(url("${server.url}/es/_bulk") index("syslog.app") type("") custom_id("\${MESSAGE}") batch_lines(50) workers(2)); };
log { source(s_app); destination(d_aggregator); };
`,
    );
    const run = (persist: string) =>
      spawnTracked('syslog-ng', ['-F', '-f', config, `--persist-file=${join(dir, persist)}`, `--pidfile=${join(dir, `${persist}.pid`)}`, `--control=${join(dir, `${persist}.ctl`)}`], { stdio: 'ignore' });
    const counters = async () => (await getJson(`${server.url}/stats`)).body as { received: number; unique_processed: number; duplicate_dropped: number };
    try {
      const first = run('first.persist');
      await waitFor(async () => (await counters()).received === 300, 'syslog-ng to ship every line', 30_000);
      await stopChild(first);
      const replay = run('replay.persist');
      await waitFor(async () => (await counters()).received === 600, 'the replay to be shipped', 30_000);
      await stopChild(replay);
      const stats = await counters();
      assert.deepEqual([stats.unique_processed, stats.duplicate_dropped], [300, 300]);
      const stored = await allEvents(server.url, 'syslog.app');
      assert.equal(stored.length, 300);
      assert.deepEqual(new Set(stored.map((event) => event.event_id)).size, 300);
      assert.equal(stored[0].payload.MESSAGE, stored[0].event_id, 'custom_id() became the event id');
      assert.match(stored[0].timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/, "syslog-ng's @timestamp");
    } finally {
      await server.stop();
    }
  });
});
