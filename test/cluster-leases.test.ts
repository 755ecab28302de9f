/**
 * Shard leases on a real 3-node JetStream KV (harness/nats-cluster.ts): one holder at a time,
 * renewals keep it, a holder that stops renewing loses it to another once the TTL passed and is
 * fenced (its renewal fails), revisions only grow, and a paused holder stops trusting its lease by
 * its own clock before anyone else can take it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect, type NatsConnection } from 'nats';
import { Leases, openLeaseBucket } from '../src/cluster/leases.js';
import { missingNatsServer, startNatsCluster, whenAnswered, type NatsCluster } from '../harness/nats-cluster.js';
import { pollUntil } from '../harness/wait.js';

const kTtlMs = 2000;
/** Part of the scenario, not a wait: the holder renews this often, well inside the TTL, for two TTLs. */
const kRenewEveryMs = kTtlMs / 4;

describe('cluster leases', { skip: missingNatsServer() ?? false }, () => {
  let cluster: NatsCluster;
  let connections: NatsConnection[];
  let a: Leases;
  let b: Leases;
  before(async () => {
    cluster = await startNatsCluster(3);
    connections = await Promise.all([0, 1].map((index) => connect({ servers: cluster.nodes[index]!.url })));
    const buckets = [];
    for (const connection of connections) buckets.push(await whenAnswered(() => openLeaseBucket(connection.jetstream(), 'agg_leases_test', kTtlMs, 3)));
    // A new R3 bucket answers once its stream has elected a leader.
    for (const bucket of buckets) await whenAnswered(() => bucket.get('ready'));
    a = new Leases(buckets[0]!, 'node-a', kTtlMs);
    b = new Leases(buckets[1]!, 'node-b', kTtlMs);
  });
  after(async () => {
    await Promise.all(connections.map((connection) => connection.close()));
    await cluster.stop();
  });

  test('one holder at a time; renewals keep it past the TTL; revisions only grow', async () => {
    let lease = await a.acquire('own.0');
    assert.ok(lease && Leases.held(lease));
    assert.equal(await b.acquire('own.0'), null, 'held by a');
    const revisions = [lease.revision];
    const until = performance.now() + kTtlMs * 2;
    while (performance.now() < until) {
      lease = await a.renew(lease!);
      assert.ok(lease, 'a renewal of a held lease succeeds');
      revisions.push(lease.revision);
      assert.equal(await b.acquire('own.0'), null, 'still held by a');
      await new Promise((resolve) => setTimeout(resolve, kRenewEveryMs));
    }
    assert.deepEqual(revisions, [...revisions].sort((x, y) => x - y));
    assert.equal(new Set(revisions).size, revisions.length, 'every write a new revision');
    assert.equal(await b.holderOf('own.0'), 'node-a');
    await a.release(lease!);
    const taken = await b.acquire('own.0');
    assert.ok(taken && taken.revision > lease!.revision, 'a release frees it at once, with a later revision');
    await b.release(taken);
  });

  test('a holder that stops renewing loses the lease after the TTL, and its late renewal is fenced', async () => {
    const lease = await a.acquire('own.1');
    assert.ok(lease);
    const started = performance.now();
    // b keeps trying to take it; the deadline only bounds the wait.
    await pollUntil(async () => (await b.acquire('own.1')) ?? undefined, 'b to get the lease', { timeoutMs: kTtlMs * 4, intervalMs: 100 });
    assert.ok(performance.now() - started >= kTtlMs * 0.9, `not before the TTL (${Math.round(performance.now() - started)} ms)`);
    assert.ok(!Leases.held(lease), 'by then a had stopped trusting its lease by its own clock');
    assert.ok(lease.heldUntil <= started + kTtlMs, 'a gives up no later than the TTL after its last write');
    assert.equal(await a.renew(lease), null, "a's late renewal fails: fenced by the revision");
    assert.equal(await b.holderOf('own.1'), 'node-b');
  });
});
