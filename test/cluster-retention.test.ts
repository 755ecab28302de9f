/**
 * Retention and forgetting in cluster mode, on a real cluster (3 nats-server processes, 2
 * aggregator processes): the owner of each shard appends expire commands to its log and every
 * replica applies them there, so both nodes expire the same events at the same log position,
 * retire the same identities at the same time and forget them alike. Ages are a second or two;
 * the tests poll for what they wait for.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { allEvents, assertSameReplicas, event, missingNatsServer, publish, sharedStats, startAggregatorCluster, whenSettled, stats, waitFor, type AggregatorCluster } from './helper.js';

const kShards = 2;
const batchOf = (topic: string, from: number, count: number) => Array.from({ length: count }, (_, index) => event({ topic, event_id: `${topic}-${from + index}`, payload: { n: from + index } }));

/** Every node's /stats agreeing on everything the log decides (expire commands keep arriving): one node's view of it. */
async function agreedStats(urls: readonly string[]): Promise<any> {
  return sharedStats((await whenSettled(urls, 30_000, sharedStats))[0]!);
}

async function publishOk(url: string, events: unknown[]): Promise<any> {
  const reply = await publish(url, events, { query: '?results=1' });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return reply.body;
}

const skip = missingNatsServer() ?? false;

describe('cluster mode: --retention and --retention-bytes go through the shard logs', { skip, timeout: 180_000 }, () => {
  let cluster: AggregatorCluster;
  let a: string;
  let b: string;
  before(async () => {
    cluster = await startAggregatorCluster({ nodes: 2, shards: kShards, args: ['--retention', 'short.*=2s', '--retention-bytes', 'big.*=20000'] });
    [a, b] = cluster.nodes.map((node) => node.url) as [string, string];
  });
  after(() => cluster.stop());

  test('both nodes expire the same events, count them alike, keep equal replicas, and answer a resend of an expired id "duplicate"', async () => {
    // Through both nodes, with an overlap: short.x-40..59 are sent to both.
    await Promise.all([publishOk(a, [...batchOf('short.x', 0, 60), ...batchOf('keep.x', 0, 20)]), publishOk(b, [...batchOf('short.x', 40, 60), ...batchOf('keep.x', 20, 20)])]);
    await waitFor(async () => (await Promise.all([a, b].map(async (url) => (await stats(url)).expired))).every((expired) => expired === 100), 'both nodes to expire the short events', 60_000);

    // Resent at once, well inside any bound: the identities outlived their rows on both nodes.
    for (const url of [a, b]) {
      const resend = await publishOk(url, batchOf('short.x', 0, 100));
      assert.deepEqual([resend.unique, resend.duplicates], [0, 100], url);
      assert.ok(resend.results.every((result: { status: string }) => result.status === 'duplicate'), url);
    }

    const agreed = await agreedStats([a, b]);
    assert.deepEqual([agreed.unique_processed, agreed.expired, agreed.deleted, agreed.stored], [140, 100, 0, 40]);
    assert.deepEqual(agreed.topic_storage, { 'short.x': { stored: 0, expired: 100, deleted: 0 } });
    const [eventsA, eventsB] = await Promise.all([allEvents(a, undefined, 25), allEvents(b, undefined, 25)]);
    assert.deepEqual(eventsB, eventsA, 'the same events, seqs and order on both nodes');
    assert.deepEqual(new Set(eventsA.map((stored) => stored.topic)), new Set(['keep.x']));
    assert.equal(eventsA.length, 40);
    for (const url of [a, b]) assert.match(await (await fetch(`${url}/metrics`)).text(), /^aggregator_events_expired_total 100$/m, url);
    await assertSameReplicas(cluster.nodes.map((node) => node.dataDir), kShards);
  });

  test('new events of an expiring topic are stored, then expire on both nodes too', async () => {
    const fresh = await publishOk(b, batchOf('short.x', 1000, 10));
    assert.equal(fresh.unique, 10);
    await waitFor(async () => (await Promise.all([a, b].map(async (url) => (await stats(url)).expired))).every((expired) => expired === 110), 'the new ones to expire on both nodes', 60_000);
    const agreed = await agreedStats([a, b]);
    assert.equal(agreed.stored, 40);
    await assertSameReplicas(cluster.nodes.map((node) => node.dataDir), kShards);
  });

  test("a topic past its size expires its oldest events, the same ones on both nodes (the stored-bytes counter is in the log's replay)", async () => {
    const sized = Array.from({ length: 300 }, (_, index) => event({ topic: 'big.b', event_id: `b-${String(index).padStart(4, '0')}`, payload: { pad: 'p'.repeat(100) } }));
    // One node after the other: the second half is the newer one.
    await publishOk(a, sized.slice(0, 150));
    await publishOk(b, sized.slice(150));
    // What a row counts: its id, timestamp, source and payload text; each shard keeps half of the limit.
    const rowSize = JSON.stringify(sized[0]!.payload).length + 'b-0000'.length + sized[0]!.timestamp.length + sized[0]!.source.length;
    await waitFor(async () => (await Promise.all([a, b].map(async (url) => ((await stats(url)).topic_storage['big.b']?.stored ?? 300) * rowSize))).every((bytes) => bytes <= 20_000 + 2 * rowSize), 'big.b to shrink on both nodes', 60_000);
    const agreed = await agreedStats([a, b]);
    const left = await allEvents(a, 'big.b');
    assert.deepEqual(await allEvents(b, 'big.b'), left);
    assert.equal(agreed.topic_storage['big.b'].stored, left.length);
    assert.ok(left.length * rowSize >= 20_000 - 2 * rowSize, `no more than the excess went: ${left.length} rows of ${rowSize} characters left`);
    assert.ok(left.some((item) => item.event_id === 'b-0299'), 'the newest stay');
    await assertSameReplicas(cluster.nodes.map((node) => node.dataDir), kShards);
  });
});

describe('cluster mode: --forget-after goes through the shard logs', { skip, timeout: 180_000 }, () => {
  let cluster: AggregatorCluster;
  let a: string;
  let b: string;
  before(async () => {
    cluster = await startAggregatorCluster({ nodes: 2, shards: kShards, args: ['--retention', 'short.*=1s', '--forget-after', '6s'] });
    [a, b] = cluster.nodes.map((node) => node.url) as [string, string];
  });
  after(() => cluster.stop());

  test('expired identities are remembered inside the bound and forgotten after it, alike on both nodes', async () => {
    await Promise.all([publishOk(a, batchOf('short.f', 0, 30)), publishOk(b, batchOf('short.f', 30, 30))]);
    await waitFor(async () => (await Promise.all([a, b].map(async (url) => (await stats(url)).expired))).every((expired) => expired === 60), 'both nodes to expire the events', 60_000);
    // Retirement times are whole seconds: for 5 s after the expiry every identity is still there.
    assert.equal((await publishOk(b, batchOf('short.f', 0, 60))).duplicates, 60, 'remembered inside the bound');
    await waitFor(async () => (await publishOk(a, batchOf('short.f', 59, 1))).unique === 1, 'the identity to be forgotten', 60_000);
    await waitFor(async () => (await publishOk(b, batchOf('short.f', 0, 1))).unique === 1, 'another identity to be forgotten', 60_000);
    const agreed = await agreedStats([a, b]);
    assert.equal(agreed.unique_processed, 62, 'each forgotten identity stored again exactly once');
    await assertSameReplicas(cluster.nodes.map((node) => node.dataDir), kShards);
  });
});
