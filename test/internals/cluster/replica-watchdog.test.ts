import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ReplicaWatchdog, type Extent, type ReplicaStatus } from '../../../src/cluster/replica-watchdog.js';

/** A replica as the watchdog sees it, and what the watchdog told it. */
function replica(status: ReplicaStatus) {
  const told = { gaps: [] as number[], restarts: 0 };
  return { told, watched: { shard: 3, status: () => status, gap: (first: number) => told.gaps.push(first), restartReader: () => told.restarts++ } };
}

describe('ReplicaWatchdog', () => {
  test('a log that starts past the next position is a gap; one that starts at it, or before, is not', async () => {
    let extent: Extent = { first: 11, last: 40, leader: 'n1' };
    const { told, watched } = replica({ position: { seq: 9, clock: 0 }, idle: true, progressAt: performance.now(), rebuilding: false });
    const watchdog = new ReplicaWatchdog(async () => extent, watched, () => {});
    await watchdog.look();
    assert.deepEqual(told.gaps, [11]);
    assert.equal(watchdog.logFirst, 11);
    extent = { first: 10, last: 40, leader: 'n1' };
    await watchdog.look();
    assert.deepEqual(told.gaps, [11], 'first == applied + 1: the replica reads on');
  });

  test('no progress past the stall bound while the stream has more restarts the reader once per bound; a busy or caught-up replica is left alone', async () => {
    const notices: string[] = [];
    const stalled = replica({ position: { seq: 5, clock: 0 }, idle: true, progressAt: performance.now() - 1000, rebuilding: false });
    const watchdog = new ReplicaWatchdog(async () => ({ first: 1, last: 9, leader: 'n1' }), stalled.watched, (message) => notices.push(message), { stallMs: 500 });
    await watchdog.look();
    await watchdog.look();
    assert.equal(stalled.told.restarts, 1, 'the restart itself counts as progress until the next bound');
    assert.match(notices[0]!, /shard 3: no progress for 500 ms at log position 5 of 9; restarting its reader/);

    const caughtUp = replica({ position: { seq: 9, clock: 0 }, idle: true, progressAt: performance.now() - 1000, rebuilding: false });
    await new ReplicaWatchdog(async () => ({ first: 1, last: 9, leader: 'n1' }), caughtUp.watched, () => {}, { stallMs: 500 }).look();
    const busy = replica({ position: { seq: 5, clock: 0 }, idle: false, progressAt: performance.now() - 1000, rebuilding: false });
    await new ReplicaWatchdog(async () => ({ first: 1, last: 9, leader: 'n1' }), busy.watched, () => {}, { stallMs: 500 }).look();
    assert.equal(caughtUp.told.restarts + busy.told.restarts, 0);
  });

  test('a replica already rebuilding, or a NATS that does not answer, is not told anything', async () => {
    const rebuilding = replica({ position: { seq: 1, clock: 0 }, idle: true, progressAt: 0, rebuilding: true });
    await new ReplicaWatchdog(async () => ({ first: 50, last: 60, leader: 'n1' }), rebuilding.watched, () => {}, { stallMs: 1 }).look();
    const unreachable = replica({ position: { seq: 1, clock: 0 }, idle: true, progressAt: 0, rebuilding: false });
    await new ReplicaWatchdog(() => Promise.reject(new Error('timeout')), unreachable.watched, () => {}, { stallMs: 1 }).look();
    assert.deepEqual([rebuilding.told, unreachable.told], [{ gaps: [], restarts: 0 }, { gaps: [], restarts: 0 }]);
  });
});

describe('replica watchdog: the stream\'s leader', () => {
  test('a look that finds no leader, or cannot ask, says leaderless; one that finds a leader clears it', async () => {
    const replica = { shard: 0, status: () => ({ position: { seq: 5, clock: 0 }, idle: true, progressAt: performance.now(), rebuilding: false }), gap: () => {}, restartReader: () => {} };
    let extent: Extent | Error = { first: 1, last: 5, leader: null };
    const watchdog = new ReplicaWatchdog(async () => {
      if (extent instanceof Error) throw extent;
      return extent;
    }, replica, () => {});
    assert.equal(watchdog.leaderless, false);
    await watchdog.look();
    assert.equal(watchdog.leaderless, true);
    extent = { first: 1, last: 5, leader: 'n2' };
    await watchdog.look();
    assert.equal(watchdog.leaderless, false);
    extent = new Error('timeout');
    await watchdog.look();
    assert.equal(watchdog.leaderless, true);
  });
});
