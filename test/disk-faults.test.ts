/**
 * Disk faults under load, from lazyfs (harness/lazyfs/): every write, or every fsync, of the
 * shard files fails with EIO or ENOSPC until the fault is cleared. While it lasts every publish
 * sent after it began answers 503 with Retry-After, /health is 503 and says why, and the shards
 * keep retrying (`--shard-retry-ms`) and failing; once it clears they recover by themselves and
 * take writes again. Then a power cut: every event acknowledged before, between and after the
 * faults is stored exactly once, the shard files pass quick_check, the counters match the rows.
 * Skipped, with the reason, where lazyfs cannot mount (no /dev/fuse, no python3-pyfuse3, no root).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { mulberry32 } from '../src/publisher/generate.js';
import { event, getJson, publish, startServer, waitFor, type TestServer } from './helper.js';
import { mountInTempDir, type FaultKind, type LazyMount } from '../harness/lazyfs.js';
import { checkService, checkShardFiles } from '../harness/power-cycles.js';
import { PowerLoad, type Answer } from '../harness/power-load.js';

const seed = Number(process.env.FAULT_SEED ?? Date.now() % 1_000_000);
const serverArgs = ['--min-free-bytes', '0', '--shard-retry-ms', '100'];

interface FaultWindow {
  readonly from: number;
  until: number;
}

async function faultCycle(t: TestContext, kind: FaultKind, mount: LazyMount) {
  t.diagnostic(`FAULT_SEED=${seed}`);
  const dataDir = join(mount.fs.mountPoint, 'data');
  let server: TestServer | null = await startServer({ dataDir, shards: 2, args: serverArgs });
  const answers: Answer[] = [];
  const load = new PowerLoad(mulberry32(seed), { clients: 3, onAnswer: (answer) => answers.push(answer) });
  load.url = server.url;
  load.start();
  const windows: FaultWindow[] = [];
  const reasons = new Set<string>();
  try {
    for (const ops of [['write'], ['fsync']] as const) {
      // Some load acknowledged before the fault, so there is something to lose.
      const before = load.acknowledgedRequests;
      await waitFor(async () => load.acknowledgedRequests >= before + 20, 'load before the fault', 30_000);
      const hitsBefore = (await mount.fs.status()).faults_hit as number;
      await mount.fs.fault(kind, { ops, match: 'data/shard-' });
      const window: FaultWindow = { from: performance.now(), until: Number.POSITIVE_INFINITY };
      windows.push(window);

      const refused = await publish(server.url, event({ topic: 'fault.probe', event_id: `${kind}-${ops[0]}` }));
      assert.equal(refused.status, 503, `a publish while every ${ops[0]} fails with ${kind} answered ${refused.status}`);
      assert.ok(Number(refused.headers.get('retry-after')) >= 1, 'the 503 carries Retry-After');
      await waitFor(async () => {
        const health = await getJson(`${server!.url}/health`);
        if (health.status === 503) reasons.add(`${ops[0]}: ${health.body.reason}`);
        return health.status === 503;
      }, '/health to report the shard unavailable');
      // The shards retry on their own every --shard-retry-ms and fail again while the fault lasts.
      await waitFor(async () => ((await mount.fs.status()).faults_hit as number) >= hitsBefore + 10, 'the shards to retry against the fault', 30_000);
      assert.equal((await getJson(`${server.url}/health`)).status, 503, '/health while the fault lasts');
      assert.equal(server.child.exitCode, null, 'the service is still running');

      window.until = performance.now();
      await mount.fs.clear();
      await waitFor(async () => (await getJson(`${server!.url}/health`)).status === 200, 'the shards to recover by themselves', 30_000);
      const after = load.acknowledgedRequests;
      await waitFor(async () => load.acknowledgedRequests >= after + 20, 'writes to be taken again after the fault', 30_000);
    }
    await load.stop();

    // Not one 200 for a request sent while the fault was on and answered before it was cleared.
    const falseAcks = answers.filter((answer) => answer.status === 200 && windows.some((window) => answer.sentAt >= window.from && answer.at <= window.until));
    assert.deepEqual(falseAcks, [], 'requests acknowledged while the shard files could not be written');
    const refusals = answers.filter((answer) => answer.status === 503);
    assert.ok(refusals.length > 0 && refusals.every((answer) => answer.retryAfter !== null), 'every 503 carries Retry-After');
    assert.ok(answers.every((answer) => answer.status === 200 || answer.status === 503), `only 200 and 503: ${[...new Set(answers.map((answer) => answer.status))]}`);
    for (const reason of reasons) assert.match(reason, /cannot commit \(SQLITE_(IOERR|FULL)|cannot make its commits durable \((EIO|ENOSPC)\)/);

    // A power cut after it all: what was acknowledged before, between and after the faults is there once.
    await Promise.all([mount.fs.crash(), server.crash()]);
    server = null;
    mount.fs = await mount.fs.remount();
    await checkShardFiles(join(mount.fs.backing, 'data'), `after the ${kind} faults and a power cut`);
    server = await startServer({ dataDir, shards: 2, args: serverArgs });
    const stored = await checkService(server.url, `after the ${kind} faults and a power cut`);
    const lost = [...load.acknowledged.keys()].filter((key) => !stored.has(key));
    assert.equal(lost.length, 0, `${lost.length} acknowledged events lost, e.g. ${lost.slice(0, 3)}`);
    // A probe refused with 503 may still be stored (a failed fsync's frames can reach the WAL): not acknowledged, not a loss.
    assert.ok([...stored].every((key) => load.sent.has(key) || key.startsWith('fault.probe/')), 'something never sent is stored');
    t.diagnostic(
      `${kind}: on writes, then on fsyncs of the shard files: ${refusals.length} requests refused with 503 + Retry-After, ` +
        `${load.acknowledgedRequests} acknowledged (${load.acknowledged.size} events), all stored once after a power cut; /health said: ${[...reasons].join(' | ')}`,
    );
  } finally {
    await load.stop();
    await server?.stop();
  }
}

describe('disk faults (lazyfs)', () => {
  for (const kind of ['eio', 'enospc'] as const) {
    test(`${kind.toUpperCase()} on every write, then on every fsync, of the shard files: 503 + Retry-After and /health 503 while it lasts, recovery by itself, nothing acknowledged lost`, async (t) => {
      const mount = await mountInTempDir();
      if (typeof mount === 'string') {
        t.skip(mount);
        return;
      }
      t.after(() => mount.fs.unmount());
      await faultCycle(t, kind, mount);
    });
  }
});
