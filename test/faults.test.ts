/**
 * Faults: kill -9 at random moments under load with retrying publishers, a shard whose commits
 * fail (another process holds its write lock), a data dir that fills up or turns read-only, and
 * damaged shard files at start. Through all of it: nothing acknowledged is lost, nothing is stored
 * twice, the stored set ends equal to the distinct set sent, and nothing is acknowledged falsely.
 * FAULT_CYCLES (default 3) sets the kill -9 cycles, FAULT_SEED replays a run.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, truncate } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { shardPath } from '../src/store/data-dir.js';
import { allEvents, event, getJson, publish, runServer, startServer, stats, makeTempDir, waitFor, type TestEvent, type TestServer } from './helper.js';
import { mulberry32 } from '../src/publisher/generate.js';

const faultCycles = Number(process.env.FAULT_CYCLES ?? 3);
const faultSeed = Number(process.env.FAULT_SEED ?? Date.now() % 1_000_000);


const key = (item: { topic: string; event_id: string }) => `${item.topic}/${item.event_id}`;

/** Where the publishers send: the current server, or none while it is down. */
interface Target {
  url: string | null;
}

/**
 * A publisher that retries each batch until it gets a 200, across server deaths and 503s, and only
 * then goes on to the next. Batches repeat some earlier ids (its own and other publishers'), so
 * duplicates cross requests, publishers and restarts.
 */
class RetryingPublisher {
  readonly sent: TestEvent[] = [];
  readonly acknowledged: TestEvent[] = [];
  acknowledgedRequests = 0;
  attempts = 0;
  #stopping = false;

  constructor(
    private readonly id: number,
    private readonly target: Target,
    private readonly next: () => number,
    private readonly shared: string[],
  ) {}

  stop(): void {
    this.#stopping = true;
  }

  async run(): Promise<void> {
    for (let batch = 0; !this.#stopping && batch < 100_000; batch++) {
      const size = 1 + Math.floor(this.next() * 40);
      const events = Array.from({ length: size }, (_, index) => {
        const repeat = this.shared.length > 0 && this.next() < 0.2;
        const eventId = repeat ? this.shared[Math.floor(this.next() * this.shared.length)]! : `p${this.id}-b${batch}-${index}`;
        return event({ topic: `fault.${eventId.length % 3}`, event_id: eventId, payload: { publisher: this.id, batch } });
      });
      this.sent.push(...events);
      await this.#deliver(events);
      this.acknowledged.push(...events);
      this.acknowledgedRequests++;
      for (const item of events) this.shared.push(item.event_id);
    }
  }

  async #deliver(events: TestEvent[]): Promise<void> {
    for (let attempt = 0; attempt < 10_000; attempt++) {
      // While the server is down (the test nulls the url before it kills), wait for the next one.
      if (this.target.url === null) await waitFor(async () => this.target.url !== null, 'a server to send to', 30_000);
      this.attempts++;
      try {
        const reply = await publish(this.target.url!, events);
        if (reply.status === 200) return;
        assert.equal(reply.status, 503, `status ${reply.status}: ${JSON.stringify(reply.body)}`);
      } catch (error) {
        if (error instanceof assert.AssertionError) throw error;
        // The server died under this request: it is unacknowledged, so it is sent again.
      }
    }
    throw new Error('a batch was never acknowledged in 10 000 attempts');
  }
}

/** Checks every acknowledged event is stored once, and returns the stored events. */
async function assertNothingLost(url: string, acknowledged: readonly TestEvent[], label: string): Promise<any[]> {
  const stored = await allEvents(url);
  const keys = new Set(stored.map(key));
  assert.equal(keys.size, stored.length, `${label}: an event is stored twice`);
  const lost = acknowledged.filter((item) => !keys.has(key(item)));
  assert.equal(lost.length, 0, `${label}: ${lost.length} acknowledged events lost, e.g. ${lost.slice(0, 3).map(key)}`);
  return stored;
}

function run(command: string, args: readonly string[]): string {
  return execFileSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/** Runs a mount command; returns why it failed, or null. */
function tryRun(command: string, args: readonly string[]): string | null {
  try {
    run(command, args);
    return null;
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    return `${command} ${args.join(' ')}: ${stderr || (error as Error).message}`;
  }
}

/** Unmounts at the end of the test, the server first (a busy mount cannot go). */
function unmountAfter(t: TestContext, mountPoint: string, server: () => TestServer | null): void {
  t.after(async () => {
    await server()?.crash();
    if (tryRun('umount', [mountPoint]) !== null) tryRun('umount', ['-l', mountPoint]);
  });
}

describe('faults', () => {
  test(`kill -9 at random moments under load (${faultCycles} cycles): nothing acknowledged lost, nothing stored twice, stored == distinct sent`, async (t) => {
    t.diagnostic(`FAULT_SEED=${faultSeed}`);
    const next = mulberry32(faultSeed);
    const dataDir = await makeTempDir();
    const target: Target = { url: null };
    const shared: string[] = [];
    const publishers = Array.from({ length: 6 }, (_, id) => new RetryingPublisher(id, target, next, shared));
    let server = await startServer({ dataDir, shards: 3 });
    target.url = server.url;
    const running = publishers.map((publisher) => publisher.run());
    const acknowledgedRequests = () => publishers.reduce((sum, publisher) => sum + publisher.acknowledgedRequests, 0);
    const acknowledgedEvents = () => publishers.flatMap((publisher) => publisher.acknowledged);
    let killedInFlight = 0;

    for (let cycle = 0; cycle < faultCycles; cycle++) {
      // A random moment: after 1 to 150 more acknowledged requests (1 = almost at once after start).
      const killAfter = acknowledgedRequests() + 1 + Math.floor(next() * 150);
      await waitFor(async () => acknowledgedRequests() >= killAfter, `cycle ${cycle}: ${killAfter} acknowledged requests`, 60_000);
      const acknowledgedBefore = acknowledgedEvents();
      killedInFlight += (await stats(server.url).catch(() => ({ in_flight_requests: 0 }))).in_flight_requests;
      target.url = null;
      await server.crash();
      server = await startServer({ dataDir, shards: 3 });
      // Before anyone publishes again: every event acknowledged before the kill is there.
      await assertNothingLost(server.url, acknowledgedBefore, `after kill ${cycle + 1}`);
      target.url = server.url;
    }
    for (const publisher of publishers) publisher.stop();
    await Promise.all(running);

    const sent = publishers.flatMap((publisher) => publisher.sent);
    const distinct = new Set(sent.map(key));
    const stored = await assertNothingLost(server.url, acknowledgedEvents(), 'at the end');
    assert.deepEqual(new Set(stored.map(key)), distinct, 'stored set == distinct sent set');
    const final = await stats(server.url);
    assert.equal(final.unique_processed, distinct.size, 'each distinct event counted unique once');
    assert.equal(final.received, final.unique_processed + final.duplicate_dropped);
    assert.ok(final.received >= sent.length, 'every send was counted at least once (retries of unanswered commits count as duplicates)');
    const attempts = publishers.reduce((sum, publisher) => sum + publisher.attempts, 0);
    t.diagnostic(
      `${faultCycles} kills survived; ${sent.length} events sent (${distinct.size} distinct) in ${acknowledgedRequests()} acknowledged requests, ` +
        `${attempts - acknowledgedRequests()} retries, ~${killedInFlight} requests in flight at the kills; lost 0, stored twice 0`,
    );
  });

  test('a shard whose commits fail (its write lock held from outside) answers 503, turns /health 503, recovers, and loses nothing acknowledged', async (t) => {
    const dataDir = await makeTempDir();
    const server = await startServer({ dataDir, shards: 2, args: ['--shard-retry-ms', '100'] });
    const target: Target = { url: server.url };
    const next = mulberry32(faultSeed + 1);
    const shared: string[] = [];
    const publishers = Array.from({ length: 4 }, (_, id) => new RetryingPublisher(id, target, next, shared));
    const running = publishers.map((publisher) => publisher.run());
    const acknowledgedRequests = () => publishers.reduce((sum, publisher) => sum + publisher.acknowledgedRequests, 0);
    const attempts = () => publishers.reduce((sum, publisher) => sum + publisher.attempts, 0);
    const reasons = new Set<string>();
    for (let cycle = 0; cycle < 3; cycle++) {
      await waitFor(async () => acknowledgedRequests() >= (cycle + 1) * 30, 'some load to be acknowledged', 30_000);
      const intruder = new Database(shardPath(dataDir, cycle % 2));
      try {
        intruder.exec('BEGIN IMMEDIATE');
        const attemptsBefore = attempts();
        await waitFor(async () => {
          const health = await getJson(`${server.url}/health`);
          if (health.status === 503) reasons.add(health.body.reason);
          return health.status === 503;
        }, 'the shard to fail its commit');
        await waitFor(async () => attempts() > attemptsBefore + 10, 'publishers to be refused and retry');
        assert.equal(server.child.exitCode, null, 'the server is still running');
      } finally {
        intruder.exec('ROLLBACK');
        intruder.close();
      }
      await waitFor(async () => (await getJson(`${server.url}/health`)).status === 200, 'the shard to recover by itself');
    }
    for (const publisher of publishers) publisher.stop();
    await Promise.all(running);
    const acknowledged = publishers.flatMap((publisher) => publisher.acknowledged);
    const distinct = new Set(publishers.flatMap((publisher) => publisher.sent).map(key));
    const stored = await assertNothingLost(server.url, acknowledged, 'after the lock');
    assert.deepEqual(new Set(stored.map(key)), distinct);
    assert.equal((await stats(server.url)).unique_processed, distinct.size);
    for (const reason of reasons) assert.match(reason, /shard [01]: cannot commit \(SQLITE_BUSY\)/);
    t.diagnostic(`3 lock cycles, ${acknowledgedRequests()} requests acknowledged, ${attempts() - acknowledgedRequests()} refused and retried; /health said: ${[...reasons][0]}`);
  });

  // With the free-disk floor off: SQLite itself meets the full disk (the floor is test/disk-floor.test.ts).
  test('a data dir that fills up answers 503 (no crash, no false 200) and works again once there is room', async (t) => {
    const mountPoint = await makeTempDir();
    const mountError = tryRun('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mountPoint]);
    if (mountError !== null) {
      t.skip(`cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN; ${mountError})`);
      return;
    }
    let server: TestServer | null = null;
    unmountAfter(t, mountPoint, () => server);
    const dataDir = join(mountPoint, 'data');
    server = await startServer({ dataDir, shards: 2, args: ['--min-free-bytes', '0', '--shard-retry-ms', '100'] });
    const acknowledged: TestEvent[] = [];
    const sent: TestEvent[] = [];
    let refused = 0;
    let reason = '';
    for (let batch = 0; batch < 2000 && refused < 20; batch++) {
      const events = Array.from({ length: 20 }, (_, index) => event({ topic: 'full', event_id: `f-${batch}-${index}`, payload: { pad: 'f'.repeat(2000) } }));
      sent.push(...events);
      const reply = await publish(server.url, events);
      if (reply.status === 200) acknowledged.push(...events);
      else {
        assert.equal(reply.status, 503, JSON.stringify(reply.body));
        refused++;
        const health = await getJson(`${server.url}/health`);
        if (health.status === 503) reason = health.body.reason;
      }
    }
    assert.ok(refused >= 20, 'the disk never filled');
    assert.equal(server.child.exitCode, null, 'the server crashed on a full disk');
    assert.match(reason, /SQLITE_FULL|full/i);
    // Reads still work, and every 200 so far is stored (no false 200).
    await assertNothingLost(server.url, acknowledged, 'while full');

    run('mount', ['-o', 'remount,size=64m', mountPoint]);
    await waitFor(async () => (await publish(server!.url, event({ topic: 'full', event_id: 'after-room' }))).status === 200, 'a publish to succeed once there is room');
    acknowledged.push(event({ topic: 'full', event_id: 'after-room' }));
    await waitFor(async () => (await getJson(`${server!.url}/health`)).status === 200, '/health to recover');
    await server.stop();
    server = await startServer({ dataDir, shards: 2, args: ['--min-free-bytes', '0'] });
    const stored = await assertNothingLost(server.url, acknowledged, 'after a restart');
    const sentKeys = new Set([...sent, ...acknowledged].map(key));
    assert.ok(stored.every((item) => sentKeys.has(key(item))), 'something never sent is stored');
    t.diagnostic(`tmpfs of 3 MiB: ${acknowledged.length} events acknowledged, ${refused} requests refused with 503 (${reason}); all acknowledged events stored after growing it and restarting`);
  });

  test('a data dir that turns read-only under the server answers 503 (no crash, no false 200), and --sync full acknowledgements survive', async (t) => {
    const work = await makeTempDir();
    const image = join(work, 'ext4.img');
    const mountPoint = join(work, 'mnt');
    await mkdir(mountPoint);
    writeFileSync(image, '');
    const setupError =
      tryRun('truncate', ['-s', '32M', image]) ??
      tryRun('mkfs.ext4', ['-q', '-F', image]) ??
      tryRun('mount', ['-o', 'loop,errors=remount-ro', image, mountPoint]);
    if (setupError !== null) {
      t.skip(`cannot loop-mount an ext4 here (needs root, a loop device and e2fsprogs; ${setupError})`);
      return;
    }
    let server: TestServer | null = null;
    unmountAfter(t, mountPoint, () => server);
    const device = basename(run('findmnt', ['-no', 'SOURCE', mountPoint]).trim());
    const trigger = `/sys/fs/ext4/${device}/trigger_fs_error`;
    if (!existsSync(trigger)) {
      t.skip(`this kernel cannot turn an ext4 read-only under open files (no ${trigger})`);
      return;
    }
    const dataDir = join(mountPoint, 'data');
    server = await startServer({ dataDir, shards: 2, args: ['--min-free-bytes', '0', '--sync', 'full', '--shard-retry-ms', '100'] });
    const acknowledged: TestEvent[] = [];
    for (let batch = 0; batch < 10; batch++) {
      const events = Array.from({ length: 20 }, (_, index) => event({ topic: 'ro', event_id: `before-${batch}-${index}` }));
      assert.equal((await publish(server.url, events)).status, 200);
      acknowledged.push(...events);
    }
    writeFileSync(trigger, 'reliability test: turn read-only');
    let refused = 0;
    for (let batch = 0; batch < 20; batch++) {
      const reply = await publish(server.url, Array.from({ length: 20 }, (_, index) => event({ topic: 'ro', event_id: `after-${batch}-${index}` })));
      assert.equal(reply.status, 503, `a write to a read-only data dir was answered ${reply.status}`);
      refused++;
    }
    const health = await getJson(`${server.url}/health`);
    assert.equal(health.status, 503);
    assert.match(health.body.reason, /cannot commit/);
    assert.equal(server.child.exitCode, null, 'the server crashed on a read-only disk');
    await assertNothingLost(server.url, acknowledged, 'while read-only');

    await server.crash();
    server = null;
    run('umount', [mountPoint]);
    tryRun('e2fsck', ['-fy', image]); // exits 1 when it repaired the error flag: expected
    run('mount', ['-o', 'loop', image, mountPoint]);
    server = await startServer({ dataDir, shards: 2, args: ['--min-free-bytes', '0'] });
    const stored = await assertNothingLost(server.url, acknowledged, 'after remounting');
    assert.ok(stored.every((item) => item.event_id.startsWith('before-')), 'an event refused with 503 was stored');
    t.diagnostic(`ext4 turned read-only under load: ${refused} requests refused with 503 (${health.body.reason}); ${acknowledged.length} acknowledged events all present after fsck and remount`);
  });

  test('a damaged shard file at start is refused: exit 1, a message naming the file, and the file left as it was', async (t) => {
    const source = await makeTempDir();
    const server = await startServer({ dataDir: source, shards: 2 });
    for (let batch = 0; batch < 20; batch++) {
      await publish(server.url, Array.from({ length: 100 }, (_, index) => event({ topic: 'damage', event_id: `d-${batch}-${index}`, payload: { pad: 'd'.repeat(200) } })));
    }
    assert.equal((await server.stop()).code, 0);
    const pageSize = 4096;
    const damages: [string, (file: string) => Promise<void> | void, RegExp][] = [
      ['truncated mid-page', (file) => truncate(file, pageSize * 3 + 1000), /is truncated/],
      ['truncated to fewer pages than its header says', (file) => truncate(file, pageSize * 3), /is truncated/],
      ['truncated to zero bytes', (file) => truncate(file, 0), /is empty/],
      ['truncated inside the header', (file) => truncate(file, 50), /not a SQLite database/],
      ['header overwritten', (file) => overwrite(file, 0, Buffer.from('this is not a database at all....')), /not a SQLite database/],
      ['page size in the header damaged', (file) => overwrite(file, 16, Buffer.from([0x03, 0x00])), /bad page size/],
      ['every page after the first overwritten', (file) => overwrite(file, pageSize, Buffer.alloc(readFileSync(file).length - pageSize, 0x5a)), /malformed|not a database/],
    ];
    for (const [name, damage, message] of damages) {
      const dataDir = await makeTempDir();
      run('cp', ['-r', `${source}/.`, dataDir]);
      const file = shardPath(dataDir, 1);
      await damage(file);
      const before = digest(file);
      const result = await runServer(['--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--shards', '2']);
      assert.equal(result.code, 1, `${name}: exit code ${result.code}`);
      assert.ok(result.stderr.includes(file), `${name}: the message does not name ${file}: ${result.stderr.slice(0, 300)}`);
      assert.match(result.stderr, message, name);
      assert.equal(digest(file), before, `${name}: the refused file was changed`);
      assert.ok(!existsSync(join(dataDir, 'aggregator.lock')), `${name}: the data dir lock was left behind`);
    }
    t.diagnostic(`${damages.length} kinds of damage refused at start`);
  });
});

function overwrite(file: string, offset: number, bytes: Buffer): void {
  const content = readFileSync(file);
  bytes.copy(content, offset);
  writeFileSync(file, content);
}

function digest(file: string): string {
  return existsSync(file) ? createHash('sha256').update(readFileSync(file)).digest('hex') : 'missing';
}
