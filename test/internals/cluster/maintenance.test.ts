import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { Maintenance, type MaintenanceOptions } from '../../../src/cluster/maintenance.js';
import { kExpireLimit, type ExpireCommand } from '../../../src/store/log-expiry.js';

const kStart = 1_000_000;
const retention = [{ pattern: 'auth.*', maxAgeMs: 86_400_000 }];

/** Fake time: the interval, performance.now() and Date.now() all follow `t.mock.timers.tick`. */
function fakeTime(t: TestContext): void {
  t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: kStart });
  t.mock.method(performance, 'now', () => Date.now());
}

function settled(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Runs the interval `count` times, one interval at a time, letting each command's outcome land. */
async function beats(t: TestContext, count: number, intervalMs = 1000): Promise<void> {
  for (let index = 0; index < count; index++) {
    t.mock.timers.tick(intervalMs);
    await settled();
  }
}

interface Sent {
  readonly shard: number;
  readonly command: ExpireCommand;
  /** ms since the start. */
  readonly at: number;
}

/**
 * A log per shard: each command sent is a message applied at once (the applied position moves past
 * it), removing `removed()` rows, unless `outcome` says otherwise.
 */
function cluster(options: Partial<MaintenanceOptions> & { removed?: (shard: number) => number; outcome?: (shard: number) => Promise<number> | null } = {}) {
  const sent: Sent[] = [];
  const errors: string[] = [];
  const applied = [0, 0, 0, 0];
  const maintenance = Maintenance.start({
    shards: 2,
    retention,
    forgetAfterMs: null,
    owns: () => true,
    applied: (shard) => applied[shard]!,
    send: (shard, command) => {
      sent.push({ shard, command, at: Date.now() - kStart });
      const outcome = options.outcome?.(shard) ?? null;
      if (outcome) return outcome;
      applied[shard]!++;
      return Promise.resolve(options.removed?.(shard) ?? 0);
    },
    onError: (message) => errors.push(message),
    ...options,
  });
  return { maintenance, sent, errors, applied };
}

const times = (sent: readonly Sent[], shard = 0): number[] => sent.filter((item) => item.shard === shard).map((item) => item.at);

describe('Maintenance', () => {
  test('nothing to expire or forget: no maintenance at all', () => {
    assert.equal(Maintenance.start({ shards: 2, retention: [], forgetAfterMs: null, owns: () => true, applied: () => 0, send: () => Promise.resolve(0), onError: () => {} }), null);
  });

  test('sends each shard it owns an expire command with its clock and rules, once a beat', async (t) => {
    fakeTime(t);
    const { maintenance, sent } = cluster({ owns: (shard) => shard === 1, removed: () => 1 });
    await beats(t, 3);
    assert.deepEqual(
      sent.map((item) => [item.shard, item.at]),
      [
        [1, 1000],
        [1, 2000],
        [1, 3000],
      ],
    );
    assert.deepEqual(sent[0]!.command, { kind: 'expire', now: kStart + 1000, retention, forgetAfterMs: null, limit: kExpireLimit, forgetKeys: 0 });
    maintenance!.stop();
  });

  test('with --forget-after alone it runs too, and each command sweeps a slice of the remembered identities', async (t) => {
    fakeTime(t);
    const { maintenance, sent } = cluster({ retention: [], forgetAfterMs: 3_600_000 });
    assert.ok(maintenance);
    await beats(t, 1);
    assert.equal(sent[0]!.command.forgetAfterMs, 3_600_000);
    assert.ok(sent[0]!.command.forgetKeys > 0);
    maintenance.stop();
  });

  test('one command per shard at a time: a slow one holds that shard\'s beat, not the others\'', async (t) => {
    fakeTime(t);
    let finish!: (removed: number) => void;
    const slow = new Promise<number>((resolve) => (finish = resolve));
    const { maintenance, sent } = cluster({ removed: () => 1, outcome: (shard) => (shard === 0 && times(sent, 0).length === 1 ? slow : null) });
    await beats(t, 5);
    assert.deepEqual(times(sent, 0), [1000], 'still out');
    assert.deepEqual(times(sent, 1), [1000, 2000, 3000, 4000, 5000]);
    finish(1);
    await settled();
    await beats(t, 1);
    assert.deepEqual(times(sent, 0), [1000, 6000]);
    maintenance!.stop();
  });

  test('a quiet shard (nothing removed, nothing else in its log) gets commands ever more seldom, down to one in 8 s', async (t) => {
    fakeTime(t);
    const { maintenance, sent } = cluster({ shards: 1 });
    await beats(t, 40);
    assert.deepEqual(times(sent), [1000, 3000, 7000, 15000, 23000, 31000, 39000]);
    maintenance!.stop();
  });

  test('any other message in the shard\'s log brings the beat back at once', async (t) => {
    fakeTime(t);
    const { maintenance, sent, applied } = cluster({ shards: 1 });
    await beats(t, 8); // sends at 1000, 3000, 7000: the next would be at 15000
    assert.deepEqual(times(sent), [1000, 3000, 7000]);
    applied[0]!++; // a publish
    await beats(t, 1);
    assert.deepEqual(times(sent), [1000, 3000, 7000, 9000]);
    maintenance!.stop();
  });

  test('while commands remove rows the beat stays at one interval', async (t) => {
    fakeTime(t);
    const { maintenance, sent } = cluster({ shards: 1, removed: () => 50_000, intervalMs: 250 });
    await beats(t, 8, 250);
    assert.deepEqual(times(sent), [250, 500, 750, 1000, 1250, 1500, 1750, 2000]);
    maintenance!.stop();
  });

  test('a failing shard is reported once until a command succeeds, and retried every beat', async (t) => {
    fakeTime(t);
    let failing = true;
    const { maintenance, sent, errors } = cluster({ shards: 1, outcome: () => (failing ? Promise.reject(new Error('no quorum')) : null) });
    await beats(t, 4);
    assert.deepEqual(times(sent), [1000, 2000, 3000, 4000]);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /shard 0/);
    assert.match(errors[0]!, /no quorum/);
    failing = false;
    await beats(t, 1);
    failing = true;
    await beats(t, 2); // the success doubled the pause: the next try is 2 s later
    assert.deepEqual(times(sent), [1000, 2000, 3000, 4000, 5000, 7000]);
    assert.equal(errors.length, 2, 'failing again after a success is reported again');
    maintenance!.stop();
  });

  test('a shard this node stops owning gets no more commands; after stop nothing is sent', async (t) => {
    fakeTime(t);
    let owned = true;
    const { maintenance, sent } = cluster({ shards: 1, removed: () => 1, owns: () => owned });
    await beats(t, 2);
    owned = false;
    await beats(t, 3);
    assert.deepEqual(times(sent), [1000, 2000]);
    owned = true;
    await beats(t, 1);
    assert.deepEqual(times(sent), [1000, 2000, 6000]);
    maintenance!.stop();
    await beats(t, 5);
    assert.equal(sent.length, 3);
  });
});
