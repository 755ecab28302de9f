/**
 * Power loss, not just kill -9: the service's data dir on lazyfs (harness/lazyfs/), which
 * keeps every write, truncate, create, rename and unlink in its own cache until fsync and drops
 * all of it on a cut. Under load from concurrent `?results=1` clients, the power is cut at random
 * moments (lazyfs crashes and the service is SIGKILLed in the same instant), the backing dir is
 * remounted and the service restarted on it (harness/power-cycles.ts has the checks).
 * Every other cut is torn: a random half of the unsynced pages reaches the "disk" first.
 *
 * The default (`--sync full`): not one acknowledged event lost, in any cycle, and no consumer ever
 * reads an event a cut then loses. `--sync interval`: no lost event was acknowledged longer before
 * the cut than its interval (plus one commit and fsync). `--sync normal`: losses are the documented
 * trade and are measured (printed), not asserted. In every mode the files survive (quick_check),
 * the service restarts, the counters match the rows, and a consumer's cursor skips nothing.
 * Cuts also come at chosen operations of a first start-up and of a graceful stop (lazyfs's
 * `crash after=N`). First of all, lazyfs itself is checked: it must forget what it claims to.
 * POWER_CYCLES (default 10), POWER_RELAXED_CYCLES (6, for interval and normal) and
 * POWER_STARTUP_POINTS (6) set the counts, POWER_SEED replays a run; bench/power-loss.ts runs
 * hundreds for docs/RELIABILITY.md's figures.
 */
import assert from 'node:assert/strict';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, truncateSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { mulberry32 } from '../src/publisher/generate.js';
import { event, publish, startServer, type TestServer } from './helper.js';
import { mountInTempDir, type LazyMount } from '../harness/lazyfs.js';
import { checkService, checkShardFiles, kIntervalSlackMs, runPowerCycles, type CycleReport } from '../harness/power-cycles.js';

const defaultCycles = Number(process.env.POWER_CYCLES ?? 10);
const relaxedCycles = Number(process.env.POWER_RELAXED_CYCLES ?? 6);
const seed = Number(process.env.POWER_SEED ?? Date.now() % 1_000_000);
const startupPoints = Number(process.env.POWER_STARTUP_POINTS ?? 6);
/** The default durability: no --sync flag. */
const defaultArgs = ['--min-free-bytes', '0'];
const intervalMs = 100;

async function mounted(t: TestContext): Promise<LazyMount | null> {
  const mount = await mountInTempDir();
  if (typeof mount === 'string') {
    t.skip(mount);
    return null;
  }
  t.after(() => mount.fs.unmount());
  return mount;
}

function describeCycle(report: CycleReport): string {
  const window = report.oldestLostMs === null ? '' : `, acknowledged ${Math.round(report.newestLostMs!)}–${Math.round(report.oldestLostMs)} ms before the cut`;
  return `cycle ${report.cycle}${report.torn ? ' (torn)' : ''}: ${report.acknowledged} acknowledged, ${report.lost} lost${window}; ${report.inFlight} requests in flight, ${report.droppedBytes} unsynced bytes dropped`;
}

/** Writes `text` to `path` (appending), fsyncing the file if asked. */
function write(path: string, text: string, options: { sync: boolean }): void {
  const fd = openSync(path, 'a');
  writeSync(fd, text);
  if (options.sync) fsyncSync(fd);
  closeSync(fd);
}

function fsyncDir(path: string): void {
  const fd = openSync(path, 'r');
  fsyncSync(fd);
  closeSync(fd);
}

describe('power loss (lazyfs)', () => {
  // The proof below is only as good as the file system's forgetting: check that first.
  test('lazyfs: a cut keeps exactly what was synced (data, sizes, names) and refuses I/O until remounted', async (t) => {
    const mount = await mounted(t);
    if (!mount) return;
    const root = mount.fs.mountPoint;
    const at = (name: string): string => join(root, name);
    for (const name of ['kept', 'cut', 'regrown', 'renamed', 'unlinked']) write(at(name), `${name} synced`, { sync: true });
    fsyncDir(root);
    write(at('kept'), ' + unsynced', { sync: false }); // data not synced: gone
    write(at('new'), 'synced, but its directory was not', { sync: true }); // a name not synced: gone
    truncateSync(at('cut'), 3); // a size not synced: undone
    truncateSync(at('regrown'), 2); // cut, then written past the cut: the gap reads as zeros, and all of it is undone
    const fd = openSync(at('regrown'), 'r+');
    writeSync(fd, 'Z', 4);
    closeSync(fd);
    renameSync(at('renamed'), at('renamed-to')); // a rename not synced: undone
    unlinkSync(at('unlinked')); // an unlink not synced: undone
    // In another directory (a directory's fsync makes all its name changes durable): rename, then sync the directory: kept.
    mkdirSync(at('dir'));
    write(at('dir/durable.tmp'), 'all synced', { sync: true });
    renameSync(at('dir/durable.tmp'), at('dir/durable'));
    fsyncDir(at('dir'));
    assert.equal(readFileSync(at('kept'), 'utf8'), 'kept synced + unsynced', 'before the cut, reads see the cache');
    assert.equal(readFileSync(at('regrown'), 'latin1'), 're\0\0Z');

    await mount.fs.crash();
    assert.throws(() => readFileSync(at('kept')), /EIO/, 'after the cut, I/O fails until remounted');
    mount.fs = await mount.fs.remount();
    assert.equal(readFileSync(at('kept'), 'utf8'), 'kept synced');
    assert.equal(readFileSync(at('cut'), 'utf8'), 'cut synced');
    assert.equal(readFileSync(at('regrown'), 'utf8'), 'regrown synced');
    assert.equal(readFileSync(at('renamed'), 'utf8'), 'renamed synced');
    assert.equal(readFileSync(at('unlinked'), 'utf8'), 'unlinked synced');
    assert.equal(readFileSync(at('dir/durable'), 'utf8'), 'all synced');
    for (const gone of ['new', 'renamed-to', 'dir/durable.tmp']) assert.ok(!existsSync(at(gone)), `${gone} survived the cut`);
  });

  test(`the default (--sync full): ${defaultCycles} power cuts under load, not one acknowledged event lost, no read event lost, no cursor skip, files sound, counts exact`, async (t) => {
    const mount = await mounted(t);
    if (!mount) return;
    t.diagnostic(`POWER_SEED=${seed}`);
    const report = await runPowerCycles(mount, {
      sync: null,
      cycles: defaultCycles,
      random: mulberry32(seed),
      onCycle: (cycle) => assert.equal(cycle.lost, 0, `the default lost acknowledged events: ${describeCycle(cycle)}`),
    });
    assert.equal(report.lost, 0);
    assert.equal(report.seenThenLost, 0, 'a consumer read events that a cut then lost');
    assert.equal(report.skippedByTailer, 0, 'a consumer tailing /events across the cuts skipped events');
    t.diagnostic(
      `${defaultCycles} cuts (${report.cycles.filter((cycle) => cycle.torn).length} torn): ${report.acknowledgedEvents} events acknowledged in ${report.acknowledgedRequests} requests ` +
        `(${report.unacknowledgedRequests} unanswered at the cuts), lost 0; restart after a cut ${Math.round(Math.max(...report.cycles.map((cycle) => cycle.restartMs)))} ms at most`,
    );
  });

  test(`--sync interval (${intervalMs} ms): ${relaxedCycles} power cuts under load: nothing lost was acknowledged longer ago than the interval, no cursor skip`, async (t) => {
    const mount = await mounted(t);
    if (!mount) return;
    t.diagnostic(`POWER_SEED=${seed}`);
    const report = await runPowerCycles(mount, {
      sync: 'interval',
      syncIntervalMs: intervalMs,
      cycles: relaxedCycles,
      random: mulberry32(seed + 3),
      onCycle: (cycle) => {
        if (cycle.oldestLostMs !== null) assert.ok(cycle.oldestLostMs <= intervalMs + kIntervalSlackMs, `a lost event was acknowledged past the window: ${describeCycle(cycle)}`);
      },
    });
    for (const cycle of report.cycles) t.diagnostic(describeCycle(cycle));
    assert.equal(report.skippedByTailer, 0, 'a consumer tailing /events across the cuts skipped events');
    t.diagnostic(`${relaxedCycles} cuts: ${report.acknowledgedEvents} events acknowledged, ${report.lost} lost; a tailing consumer read ${report.seenThenLost} events that a cut then lost, and skipped none`);
  });

  test(`--sync normal: ${relaxedCycles} power cuts under load: the loss is measured; the files survive, the service restarts, counts match the rows, no cursor skip`, async (t) => {
    const mount = await mounted(t);
    if (!mount) return;
    t.diagnostic(`POWER_SEED=${seed}`);
    // Longer cycles than for full: normal syncs only at checkpoints (every ~1000 WAL pages per shard).
    const report = await runPowerCycles(mount, { sync: 'normal', cycles: relaxedCycles, random: mulberry32(seed + 1), maxRequestsBeforeCut: 400 });
    for (const cycle of report.cycles) t.diagnostic(describeCycle(cycle));
    const windows = report.cycles.flatMap((cycle) => (cycle.oldestLostMs === null ? [] : [cycle.oldestLostMs]));
    assert.equal(report.skippedByTailer, 0, 'a consumer tailing /events across the cuts skipped events (a seq handed out again)');
    t.diagnostic(
      `${relaxedCycles} cuts: ${report.acknowledgedEvents} events acknowledged, ${report.lost} lost (${((100 * report.lost) / Math.max(1, report.acknowledgedEvents)).toFixed(1)} %); ` +
        `the oldest lost one was acknowledged up to ${Math.round(Math.max(0, ...windows))} ms before its cut; ` +
        `a consumer tailing /events read ${report.seenThenLost} events that a cut then lost, and skipped none`,
    );
  });

  test(`the default: power cuts at ${startupPoints} moments of a first start-up and ${startupPoints} of a graceful stop: the data dir always starts again, nothing acknowledged lost`, async (t) => {
    const mount = await mounted(t);
    if (!mount) return;
    const random = mulberry32(seed + 2);
    const mutations = async (): Promise<number> => (await mount.fs.status()).mutations as number;
    // How many operations that change something a first start-up and a stop take here.
    let before = await mutations();
    const probe = await startServer({ dataDir: join(mount.fs.mountPoint, 'probe'), args: defaultArgs });
    const startOps = (await mutations()) - before;
    before = await mutations();
    assert.equal((await probe.stop()).code, 0);
    const stopOps = (await mutations()) - before;
    // A moment in each of `points` equal slices of `ops`: every part of the sequence gets a cut.
    const moments = (ops: number): number[] => Array.from({ length: startupPoints }, (_, slice) => 1 + Math.floor(((slice + random()) * ops) / startupPoints));

    for (const [index, moment] of moments(startOps).entries()) {
      const dataDir = join(mount.fs.mountPoint, `start-${index}`);
      await mount.fs.crashAfter(moment, index % 2 === 1 ? Math.floor(random() * 2 ** 31) : undefined);
      // The service exits 1 on the EIO. A start-up a few operations shorter than the probe's (the
      // kernel writes mapped -shm pages back when it likes) is not cut: then the cut comes right after it.
      const started = await startServer({ dataDir, args: defaultArgs }).catch(() => null);
      if (started !== null) await Promise.all([mount.fs.crash(), started.crash()]);
      mount.fs = await mount.fs.remount();
      const server = await startServer({ dataDir, args: defaultArgs });
      const reply = await publish(server.url, event({ event_id: `after-cut-${index}` }), { query: '?results=1' });
      assert.equal(reply.status, 200, `after a cut at operation ${moment} of a start-up: ${JSON.stringify(reply.body)}`);
      assert.equal((await checkService(server.url, `start-up cut at ${moment}`)).size, 1);
      assert.equal((await server.stop()).code, 0);
    }

    const dataDir = join(mount.fs.mountPoint, 'stops');
    const acknowledged = new Set<string>();
    for (const [index, moment] of moments(stopOps).entries()) {
      let server: TestServer | null = await startServer({ dataDir, args: defaultArgs });
      const events = Array.from({ length: 50 }, (_, item) => event({ topic: 'stops', event_id: `s${index}-${item}` }));
      assert.equal((await publish(server.url, events)).status, 200);
      for (const item of events) acknowledged.add(`stops/${item.event_id}`);
      await mount.fs.crashAfter(moment);
      await server.stop(); // SIGTERM: it commits, checkpoints and closes, and the power goes somewhere in there
      server = null;
      if ((await mount.fs.status()).crashed !== true) await mount.fs.crash(); // the stop took fewer operations this time: cut after it
      mount.fs = await mount.fs.remount();
      await checkShardFiles(join(mount.fs.backing, 'stops'), `stop cut at ${moment}`);
      server = await startServer({ dataDir, args: defaultArgs });
      const stored = await checkService(server.url, `stop cut at ${moment}`);
      const lost = [...acknowledged].filter((key) => !stored.has(key));
      assert.deepEqual(lost, [], `a cut at operation ${moment} of a stop lost acknowledged events`);
      assert.equal((await server.stop()).code, 0);
    }
    t.diagnostic(`a first start-up takes ${startOps} operations that change something and a stop ${stopOps}; cut at ${startupPoints} moments of each`);
  });
});
