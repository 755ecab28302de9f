/**
 * `--replicas 2` on 4 aggregator nodes (3 nats-server processes, real aggregator processes): each
 * shard lives on 2 of the 4, placed by rendezvous hashing over the live nodes. A write on any node
 * gets the verdict of a replica it may not hold (pushed, or asked for), a read on any node merges
 * the shards' parts from nodes that hold them, and every node counts the same.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { allEvents, checkVerdicts, event, eventRows, getJson, missingNatsServer, publish, replicaDigest, startAggregatorCluster, startLoad, waitFor, whenSettled, type AggregatorCluster, type AggregatorNode } from './helper.js';

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
    router = await cluster.addNode(['--hold-shards', 'off']);
  });
  after(() => cluster.stop());
  let router: AggregatorNode;

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

    // Per-topic counts: every node, the router too, counts each topic over every shard, though it holds some or none.
    const perTopic = new Map<string, number>();
    for (const id of ids) perTopic.set(`scale.${id.length % 5}`, (perTopic.get(`scale.${id.length % 5}`) ?? 0) + 1);
    const want = Object.fromEntries([...perTopic].sort().map(([topic, unique]) => [topic, { received: 4 * unique, unique_processed: unique, duplicate_dropped: 3 * unique }]));
    const byVolume = [...perTopic].sort((a, b) => b[1] - a[1]).map(([topic]) => topic);
    for (const url of [...urls, router.url]) {
      let seen: unknown;
      await waitFor(async () => isDeepStrictEqual((seen = (await getJson(`${url}/stats`)).body.topic_counts), want), () => `${url}'s /stats topic_counts: ${JSON.stringify(seen)}`, 10_000);
      const ranked = (await getJson(`${url}/topics?sort=volume`)).body.topics as { topic: string; unique_processed: number; stored: number }[];
      assert.deepEqual(ranked.map((topic) => topic.topic), byVolume, `${url}'s /topics?sort=volume`);
      for (const topic of ranked) assert.equal(topic.stored, perTopic.get(topic.topic));
      const metrics = await (await fetch(`${url}/metrics`)).text();
      for (const [topic, unique] of perTopic) assert.match(metrics, new RegExp(`^aggregator_events_unique_total\\{topic="${topic.replace('.', '\\.')}"\\} ${unique}$`, 'm'), `${url}'s /metrics for ${topic}`);
    }
  });

  test('search and counts over time read every shard from every node', async () => {
    const answers = await Promise.all(urls.map(async (url) => (await getJson(`${url}/search?q=${encodeURIComponent('topic:scale.*')}&limit=1000&order=asc`)).body));
    for (const answer of answers) assert.equal(answer.count, 800, JSON.stringify(answer).slice(0, 300));
    const histograms = await Promise.all(urls.map(async (url) => (await getJson(`${url}/search/histogram?q=${encodeURIComponent('topic:scale.*')}&since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z&buckets=1`)).body));
    for (const histogram of histograms) assert.deepEqual(histogram, histograms[0]);
  });

  test('a router (--hold-shards off) holds nothing and pages, counts and searches like the others, cursors going on across a replica\'s kill -9', async () => {
    assert.deepEqual(await held(router.url), []);
    const reference = await allEvents(urls[0]!, undefined, 1000);
    assert.deepEqual(await allEvents(router.url, undefined, 1000), reference);
    const [holderStats, routerStats] = await whenSettled([urls[0]!, router.url]);
    assert.equal(routerStats!.unique_processed, holderStats!.unique_processed);
    // Page slowly through the router; halfway, one holder dies: its shards' parts come from their other replica.
    const victim = cluster.nodes[1]!;
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; ; page++) {
      if (page === 5) await victim.crash();
      const answer: { status: number; body: { events: { event_id: string; seq: number }[]; count: number; next: string } } = await getJson(`${router.url}/events?limit=37${after ? `&after=${after}` : ''}`);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      seen.push(...answer.body.events.map((stored) => stored.event_id));
      if (answer.body.count === 0) break;
      after = answer.body.next;
    }
    assert.deepEqual(seen, reference.map((stored: { event_id: string }) => stored.event_id), 'every event once, in seq order, across the kill');
    await victim.start();
    urls[1] = victim.url;
  });

  test('each shard\'s two copies are byte-equal', async () => {
    await whenSettled(urls);
    // The restarted node catches up: wait until each shard's two holders stand at the same log position.
    let holders: { node: number; applied: number }[][] = [];
    await waitFor(
      async () => {
        const replicas = await Promise.all(urls.map(held));
        holders = Array.from({ length: kShards }, (_, shard) => replicas.flatMap((list, node) => list.filter((replica) => replica.shard === shard && replica.caught_up).map((replica) => ({ node, applied: replica.applied }))));
        return holders.every((copies) => copies.length === 2 && copies[0]!.applied === copies[1]!.applied);
      },
      () => `each shard's two copies at one log position (${JSON.stringify(holders)})`,
      60_000,
    );
    const digests = cluster.nodes.map((node) => replicaDigest(node.dataDir, kShards));
    for (const [shard, [first, second]] of holders.entries()) assert.equal(digests[first!.node]![shard], digests[second!.node]![shard], `shard ${shard}'s copies differ`);
  });
});

describe('--replicas 2: a node leaves and another joins under load', { skip: missingNatsServer() ?? false, timeout: 300_000 }, () => {
  let cluster: AggregatorCluster;
  before(async () => {
    cluster = await startAggregatorCluster({ nodes: 3, shards: kShards, args: ['--replicas', '2', '--snapshot-interval-ms', '2000'] });
  });
  after(() => cluster.stop());

  /** Per shard, the nodes (among `nodes`) that hold a caught-up replica of it; resolves once each shard has exactly 2 and nothing else is held. */
  const settledPlacement = async (nodes: readonly AggregatorNode[]): Promise<Map<number, string[]>> => {
    let last = '';
    let placed = new Map<number, string[]>();
    await waitFor(
      async () => {
        placed = new Map();
        let held = 0;
        for (const node of nodes) {
          const replicas = (await getJson(`${node.url}/health`)).body.cluster.replicas as HeldReplica[];
          held += replicas.length;
          for (const replica of replicas) if (replica.caught_up) placed.set(replica.shard, [...(placed.get(replica.shard) ?? []), node.name]);
        }
        last = JSON.stringify([...placed]);
        return held === 2 * kShards && Array.from({ length: kShards }, (_, shard) => placed.get(shard)?.length === 2).every(Boolean);
      },
      () => `every shard on exactly 2 caught-up nodes of ${nodes.map((node) => node.name).join(', ')} (last: ${last})`,
      90_000,
    );
    return placed;
  };

  test('shards move with the node set; nothing acknowledged is lost or stored twice, verdicts right, copies equal, let-go files emptied', async () => {
    const [a, b, c] = cluster.nodes as [AggregatorNode, AggregatorNode, AggregatorNode];
    await settledPlacement([a, b, c]);
    const live = new Set([a, b]);
    const load = startLoad({ targets: () => [...live].map((node) => node.url), concurrency: 6, batch: 20, keySpace: 4000, prefix: 'move' });
    await waitFor(() => load.record.acknowledged >= 40, 'the load to run', 30_000);
    // c drains: a graceful stop deletes its key, so a and b take its shards at once.
    await c.stop();
    await settledPlacement([a, b]);
    await waitFor(() => load.record.acknowledged >= 150, 'the load to go on', 30_000);
    // A fourth node joins: it takes about half of the shards; a and b let them go once it caught up.
    const d = await cluster.addNode();
    live.add(d);
    const placed = await settledPlacement([a, b, d]);
    await waitFor(() => load.record.acknowledged >= 300, 'the load to go on', 30_000);
    const record = await load.stop();
    assert.ok(record.acknowledged >= 300);
    const urls = [a.url, b.url, d.url];
    const all = await whenSettled(urls);
    const events = await Promise.all(urls.map((url) => allEvents(url, undefined, 500)));
    for (const listed of events.slice(1)) assert.deepEqual(listed, events[0], 'every node pages the same');
    const stored = events[0]!.map((stored) => `${stored.topic}/${stored.event_id}`);
    assert.equal(new Set(stored).size, stored.length, 'each key stored once');
    assert.equal(stored.length, all[0]!.unique_processed);
    assert.deepEqual(checkVerdicts(record, new Set(stored)), []);
    // The moves are counted: d started (and caught up) its shards empty; a and b took c's and let d's go.
    const [moveA, moveB, moveD] = await Promise.all([a, b, d].map(async (node) => (await getJson(`${node.url}/health`)).body.cluster.rebalance));
    assert.ok(moveD.started >= 1 && moveD.caught_up === moveD.started && moveD.bytes_copied > 0, JSON.stringify(moveD));
    assert.ok(moveA.started + moveB.started >= 1 && moveA.released + moveB.released >= 1, JSON.stringify([moveA, moveB]));
    assert.match((await (await fetch(`${d.url}/metrics`)).text()), /aggregator_cluster_shard_moves_started_total [1-9]/);
    // Each shard's two copies are equal; a node's file of a shard it does not hold is empty.
    const byName = new Map([a, b, d].map((node) => [node.name, node] as const));
    const digests = new Map([a, b, d].map((node) => [node.name, replicaDigest(node.dataDir, kShards)] as const));
    for (let shard = 0; shard < kShards; shard++) {
      const [first, second] = placed.get(shard)!;
      assert.equal(digests.get(first!)![shard], digests.get(second!)![shard], `shard ${shard}'s copies on ${first} and ${second} differ`);
      for (const [name, node] of byName) if (!placed.get(shard)!.includes(name)) assert.equal(eventRows(node.dataDir, shard), 0, `${name} let shard ${shard} go and emptied it`);
    }
  });
});

describe('--replicas 2 of 3 nodes: a node killed with -9 under load, then restarted', { skip: missingNatsServer() ?? false, timeout: 300_000 }, () => {
  let cluster: AggregatorCluster;
  before(async () => {
    cluster = await startAggregatorCluster({ nodes: 3, shards: kShards, args: ['--replicas', '2'] });
  });
  after(() => cluster.stop());

  test('writes on every node (each lacks a third of the shards) keep their verdicts right through the kill; nothing acknowledged is lost, copies equal', async () => {
    const nodes = cluster.nodes;
    const live = new Set(nodes);
    await waitFor(async () => (await Promise.all(nodes.map(async (node) => ((await getJson(`${node.url}/health`)).body.cluster.replicas as HeldReplica[]).length))).reduce((sum, count) => sum + count, 0) === 2 * kShards, 'placement settled', 60_000);
    const load = startLoad({ targets: () => [...live].filter((node) => node.server !== null).map((node) => node.url), concurrency: 6, batch: 20, keySpace: 5000, prefix: 'kill' });
    await waitFor(() => load.record.acknowledged >= 60, 'the load to run', 30_000);
    const victim = nodes[2]!;
    live.delete(victim);
    await victim.crash();
    // Its key expires after the lease TTL; the two others then hold every shard.
    await waitFor(() => load.record.acknowledged >= 250, 'the load to go on without the victim', 60_000);
    await victim.start();
    live.add(victim);
    await waitFor(() => load.record.acknowledged >= 400, 'the load to go on with the victim back', 60_000);
    const record = await load.stop();
    const urls = nodes.map((node) => node.url);
    const [totals] = await whenSettled(urls, 60_000);
    const events = await Promise.all(urls.map((url) => allEvents(url, undefined, 500)));
    for (const listed of events.slice(1)) assert.deepEqual(listed, events[0], 'every node pages the same');
    const keys = events[0]!.map((stored) => `${stored.topic}/${stored.event_id}`);
    assert.equal(new Set(keys).size, keys.length, 'each key stored once');
    assert.equal(keys.length, totals!.unique_processed);
    assert.deepEqual(checkVerdicts(record, new Set(keys)), []);
    // Placement settles back to 2 copies a shard, and each shard's copies are equal.
    let holders: { node: number; applied: number }[][] = [];
    await waitFor(
      async () => {
        const replicas = await Promise.all(urls.map(async (url) => (await getJson(`${url}/health`)).body.cluster.replicas as HeldReplica[]));
        holders = Array.from({ length: kShards }, (_, shard) => replicas.flatMap((list, node) => list.filter((replica) => replica.shard === shard && replica.caught_up).map((replica) => ({ node, applied: replica.applied }))));
        return holders.every((copies) => copies.length === 2 && copies[0]!.applied === copies[1]!.applied);
      },
      () => `each shard on 2 nodes at one log position (${JSON.stringify(holders)})`,
      90_000,
    );
    const digests = nodes.map((node) => replicaDigest(node.dataDir, kShards));
    for (const [shard, [first, second]] of holders.entries()) assert.equal(digests[first!.node]![shard], digests[second!.node]![shard], `shard ${shard}'s copies differ`);
  });
});
