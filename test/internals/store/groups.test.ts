import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { kGroupDefaults, kSettle, type GroupCommand, type GroupReply } from '../../../src/groups/model.js';
import { ShardDb, type StoreBatch } from '../../../src/store/shard-db.js';
import { makeTempDir } from '../../helper.js';

/** A seeded PRNG (mulberry32): a failing schedule can be replayed from its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

function run(db: ShardDb, command: GroupCommand): GroupReply {
  const batch: StoreBatch = { receivedAt: 0, rejected: 0, wantsStatuses: false, events: [], command };
  return db.commit([batch]).batches[0]!.reply!;
}

function events(db: ShardDb, from: number, count: number, topic: string): void {
  const list = Array.from({ length: count }, (_, index) => ({ seq: from + index, topic, eventId: `e${from + index}`, timestamp: '2026-01-01T00:00:00Z', source: 's', payload: '{}' }));
  db.commit([{ receivedAt: 0, rejected: 0, wantsStatuses: false, events: list }]);
}

const ackWaitMs = 100;

/**
 * Random schedules of two fetchers against one real shard file: publishes, deliveries, acks, naks,
 * extends and time passing, in any order. Invariants: a message is never granted while another
 * fetcher's lease on it runs (its ack wait and backoff); an acked message is never granted again;
 * and once the schedule ends and everything is drained, every matching event was acked exactly once.
 */
test('two fetchers never hold one message inside its ack wait; acked messages never return; every match is acked once (property, 60 schedules)', async () => {
  const dir = await makeTempDir();
  for (let seed = 1; seed <= 60; seed++) {
    const next = random(seed);
    const db = new ShardDb({ path: join(dir, `shard-${seed}.db`), shard: 0, shardCount: 1 });
    // Bursts of one topic each: a walk then often finds exactly as many matches as it wants.
    const topics = new Map<number, string>();
    const topicOf = (seq: number): string => topics.get(seq)!;
    // Shorter and longer than the ack wait: a hold lasts the longer of the two.
    const backoff = seed % 2 === 0 ? [] : [30, 160];
    run(db, { kind: 'group_put', name: 'g', definition: { ...kGroupDefaults, topics: ['orders.*'], start: 'earliest', ack_wait_ms: ackWaitMs, backoff_ms: backoff, max_deliver: 1000, max_pending: 1 + Math.floor(next() * 40) }, startSeq: 0, sinceMs: null });
    let clock = 1_000_000;
    let lastSeq = 0;
    const leases = new Map<number, { holder: number; until: number }>();
    const held: Set<number>[] = [new Set(), new Set()];
    const acked = new Set<number>();
    const deliver = (fetcher: number, max: number): void => {
      const reply = run(db, { kind: 'group_deliver', name: 'g', max, at: clock });
      for (const [seq, count] of reply.granted!) {
        assert.ok(!acked.has(seq), `seed ${seed}: acked seq ${seq} granted again`);
        const lease = leases.get(seq);
        assert.ok(!lease || lease.until <= clock, `seed ${seed}: seq ${seq} granted to ${fetcher} at ${clock} while ${lease?.holder} holds it until ${lease?.until}`);
        assert.ok(topicOf(seq).startsWith('orders.'), `seed ${seed}: seq ${seq} does not match`);
        leases.set(seq, { holder: fetcher, until: clock + Math.max(ackWaitMs, backoff.length === 0 ? 0 : backoff[Math.min(count, backoff.length) - 1]!) });
        held[1 - fetcher]!.delete(seq);
        held[fetcher]!.add(seq);
      }
    };
    const settle = (fetcher: number, kind: 'group_ack' | 'group_nak' | 'group_extend'): void => {
      const seqs = [...held[fetcher]!].filter(() => next() < 0.6);
      const reply = run(db, { kind, name: 'g', seqs, at: clock, ...(kind === 'group_nak' ? { delayMs: next() < 0.5 ? null : Math.floor(next() * 50) } : {}) });
      seqs.forEach((seq, index) => {
        const status = reply.statuses![index]!;
        if (kind === 'group_ack') {
          if (status === kSettle.done) {
            assert.ok(!acked.has(seq), `seed ${seed}: seq ${seq} acked twice`);
            acked.add(seq);
          } else assert.equal(status, kSettle.gone, `seed ${seed}: an ack of delivered seq ${seq} is done or gone`);
          held[fetcher]!.delete(seq);
          leases.delete(seq);
        } else if (status === kSettle.done) {
          // A nak or extend moves the lease: from now, past its delay or a fresh ack wait.
          held[fetcher]!.delete(seq);
          leases.delete(seq);
        }
      });
    };
    for (let step = 0; step < 300; step++) {
      const action = next();
      const fetcher = next() < 0.5 ? 0 : 1;
      if (action < 0.15) {
        const count = 1 + Math.floor(next() * 8);
        const topic = ['orders.eu', 'orders.us', 'audit'][Math.floor(next() * 3)]!;
        for (let seq = lastSeq + 1; seq <= lastSeq + count; seq++) topics.set(seq, topic);
        events(db, lastSeq + 1, count, topic);
        lastSeq += count;
      } else if (action < 0.5) deliver(fetcher, 1 + Math.floor(next() * 10));
      else if (action < 0.7) settle(fetcher, 'group_ack');
      else if (action < 0.78) settle(fetcher, 'group_nak');
      else if (action < 0.84) settle(fetcher, 'group_extend');
      else clock += Math.floor(next() * 80);
    }
    // Drain: time passes, one fetcher takes and acks everything left.
    for (let round = 0; round < 200; round++) {
      clock += 200;
      deliver(0, 50);
      held[1]!.clear();
      while (held[0]!.size > 0) settle(0, 'group_ack');
    }
    const matching = Array.from({ length: lastSeq }, (_, index) => index + 1).filter((seq) => topicOf(seq).startsWith('orders.'));
    assert.deepEqual([...acked].sort((a, b) => a - b), matching, `seed ${seed}: every match acked once`);
    assert.equal(run(db, { kind: 'group_deliver', name: 'g', max: 10, at: clock }).pending, 0);
    db.close();
  }
});
