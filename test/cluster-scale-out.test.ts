/**
 * `--replicas 2` on 4 aggregator nodes (3 nats-server processes, real aggregator processes): each
 * shard lives on 2 of the 4, placed by rendezvous hashing over the live nodes. A write on any node
 * gets the verdict of a replica it may not hold (pushed, or asked for), a read on any node merges
 * the shards' parts from nodes that hold them, and every node counts the same.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { allEvents, event, getJson, missingNatsServer, publish, replicaDigest, startAggregatorCluster, waitFor, whenSettled, type AggregatorCluster } from './helper.js';

const kShards = 8;

interface HeldReplica {
  readonly shard: number;
  readonly applied: number;
  readonly caught_up: boolean;
}

describe('cluster mode with --replicas 2 of 4 nodes', { skip: missingNatsServer() ?? false, timeout: 240_000 }, () => {
  let cluster: AggregatorCluster;
  let urls: string[];
  const held = async (url: string): Promise<HeldReplica[]> => (await getJson(`${url}/health`)).body.cluster.replicas as HeldReplica[];

  before(async () => {
    cluster = await startAggregatorCluster({ nodes: 4, shards: kShards, args: ['--replicas', '2'] });
    urls = cluster.nodes.map((node) => node.url);
    // The first nodes held everything until the later ones joined: wait until each shard is on exactly 2, both caught up.
    await waitFor(
      async () => {
        const holders = new Map<number, number>();
        for (const url of urls) for (const replica of await held(url)) if (replica.caught_up) holders.set(replica.shard, (holders.get(replica.shard) ?? 0) + 1);
        const all = await Promise.all(urls.map(held));
        return Array.from({ length: kShards }, (_, shard) => shard).every((shard) => holders.get(shard) === 2) && all.flat().length === 2 * kShards;
      },
      'every shard on exactly 2 caught-up nodes',
      60_000,
    );
  });
  after(() => cluster.stop());

  test('placement: 2 replicas per shard, spread over the 4 nodes; /health names the live nodes', async () => {
    const health = (await getJson(`${urls[0]}/health`)).body.cluster;
    assert.deepEqual([...health.nodes].sort(), ['agg0', 'agg1', 'agg2', 'agg3']);
    assert.equal(health.replicas_per_shard, 2);
    const counts = await Promise.all(urls.map(async (url) => (await held(url)).length));
    assert.equal(counts.reduce((sum, count) => sum + count, 0), 2 * kShards);
    for (const count of counts) assert.ok(count >= 1 && count <= kShards - 1, `each node holds some shards and not all: ${counts.join(', ')}`);
  });

  test('writes on every node at once: each key stored once, verdicts right, every node counts and pages the same', async () => {
    const ids = Array.from({ length: 800 }, (_, index) => `k-${index}`);
    const batch = (from: number) => ids.slice(from, from + 100).map((id) => event({ topic: `scale.${id.length % 5}`, event_id: id }));
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, slice) => urls.map((url) => publish(url, batch(slice * 100), { query: '?results=1' }))).flat(),
    );
    for (const answer of answers) assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const stored = answers.flatMap((answer) => answer.body.results as { event_id: string; status: string }[]).filter((result) => result.status === 'stored');
    assert.equal(stored.length, 800, 'each key told "stored" exactly once over the 4 nodes');
    assert.equal(new Set(stored.map((result) => result.event_id)).size, 800);
    const all = await whenSettled(urls);
    for (const stats of all) {
      assert.equal(stats.unique_processed, 800);
      assert.equal(stats.duplicate_dropped, 3 * 800);
    }
    const pages = await Promise.all(urls.map((url) => allEvents(url, undefined, 70)));
    assert.equal(pages[0]!.length, 800);
    for (const page of pages.slice(1)) assert.deepEqual(page, pages[0], 'the same events, seqs and order from every node');
    const topics = await Promise.all(urls.map(async (url) => (await getJson(`${url}/topics?limit=100`)).body.topics));
    for (const listed of topics.slice(1)) assert.deepEqual(listed, topics[0]);
    assert.equal(topics[0].reduce((sum: number, topic: { unique_processed: number }) => sum + topic.unique_processed, 0), 800);
  });

  test('search and counts over time read every shard from every node', async () => {
    const answers = await Promise.all(urls.map(async (url) => (await getJson(`${url}/search?q=${encodeURIComponent('topic:scale.*')}&limit=1000&order=asc`)).body));
    for (const answer of answers) assert.equal(answer.count, 800, JSON.stringify(answer).slice(0, 300));
    const histograms = await Promise.all(urls.map(async (url) => (await getJson(`${url}/search/histogram?q=${encodeURIComponent('topic:scale.*')}&since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z&buckets=1`)).body));
    for (const histogram of histograms) assert.deepEqual(histogram, histograms[0]);
  });

  test('each shard\'s two copies are byte-equal', async () => {
    await whenSettled(urls);
    const holding = await Promise.all(urls.map(async (url) => new Set((await held(url)).map((replica) => replica.shard))));
    const digests = cluster.nodes.map((node) => replicaDigest(node.dataDir, kShards));
    for (let shard = 0; shard < kShards; shard++) {
      const copies = holding.flatMap((shards, node) => (shards.has(shard) ? [digests[node]![shard]] : []));
      assert.equal(copies.length, 2);
      assert.equal(copies[0], copies[1], `shard ${shard}'s copies differ`);
    }
  });
});
