/**
 * The cluster's logs stay short (../shared/spec/cluster.md §1, §3, §6.5): owners snapshot their
 * shards into the object store and purge the streams below the snapshot before; a node joining
 * with nothing starts from the snapshots instead of replaying everything; a replica that slept
 * across a purge refuses the gap and rebuilds from the latest snapshot. Real nats-server and
 * aggregator processes; the nodes' files are compared at the end.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { allEvents, checkVerdicts, event, getJson, logExtent, missingNatsServer, publish, assertSameReplicas, snapshotCatalogue, startAggregatorCluster, startLoad, waitFor, whenSettled, type AggregatorCluster } from './helper.js';
import { oracleMatches, searchAll } from './support/search-oracle.js';

const kShards = 2;

interface Replica {
  shard: number;
  applied: number;
  log_first: number;
  restored: number;
  caught_up: boolean;
}

async function replicas(url: string): Promise<Replica[]> {
  return (await getJson(`${url}/health`)).body.cluster.replicas as Replica[];
}

/** Publishes small batches through `url` until every shard's stream was purged past `beyond[shard]`. */
async function publishUntilPurged(cluster: AggregatorCluster, url: string, beyond: readonly number[], prefix: string): Promise<number> {
  let sent = 0;
  await waitFor(
    async () => {
      const batch = Array.from({ length: 20 }, (_, index) => event({ topic: `${prefix}.${index % 3}`, event_id: `${prefix}-${sent + index}` }));
      assert.equal((await publish(url, batch)).status, 200);
      sent += batch.length;
      const extents = await Promise.all(beyond.map((_, shard) => logExtent(cluster.nats, `AGG_${shard}`)));
      return extents.every((extent, shard) => extent.first > beyond[shard]! + 1);
    },
    'every stream purged past the given positions',
    60_000,
  );
  return sent;
}

describe('cluster mode: snapshots, purges, bootstrap and rebuild', { skip: missingNatsServer() ?? false, timeout: 240_000 }, () => {
  let cluster: AggregatorCluster;
  before(async () => {
    cluster = await startAggregatorCluster({ nodes: 2, shards: kShards, args: ['--snapshot-interval-ms', '1000', '--replicas', '3'] }); // every node a full copy, the joining one included: placement below the node count is cluster-scale-out.test.ts
  });
  after(() => cluster.stop());

  test('owners snapshot and purge below the previous snapshot; old snapshots are deleted; a joining node starts from the snapshots', async () => {
    const [a, b] = cluster.nodes.map((node) => node.url) as [string, string];
    const sent = await publishUntilPurged(cluster, a, [0, 0], 'snap');
    // Resends through the other node: still duplicates after the purge (dedup is the rows, not the log).
    const resend = await publish(b, Array.from({ length: 20 }, (_, index) => event({ topic: `snap.${index % 3}`, event_id: `snap-${index}` })), { query: '?results=1' });
    assert.equal(resend.status, 200);
    assert.ok((resend.body.results as { status: string }[]).every((result) => result.status === 'duplicate'));
    await whenSettled([a, b]);

    // Snapshot rounds run every second; once the nodes are idle they stop moving anything, and the
    // catalogue must settle into this, read in this order (the log's start, then the pointers).
    let problems: string[] = [];
    await waitFor(
      async () => {
        const extents = await Promise.all(Array.from({ length: kShards }, (_, shard) => logExtent(cluster.nats, `AGG_${shard}`)));
        const catalogue = await snapshotCatalogue(cluster.nats, kShards);
        problems = extents.flatMap((extent, shard) => {
          const pointer = catalogue.pointers.get(shard);
          if (!pointer) return [`shard ${shard} has no snapshot pointer`];
          const kept = catalogue.objects.filter((name) => name.startsWith(`shard-${shard}-`));
          return [
            ...(pointer.epoch > 0 ? [] : [`shard ${shard}: the pointer carries no lease revision`]),
            ...(extent.first > 1 && extent.first <= pointer.seq + 1 ? [] : [`shard ${shard}: the log (from ${extent.first}) is not purged, or purged past the latest snapshot (${pointer.seq})`]),
            ...(kept.includes(pointer.object) && kept.length <= 2 ? [] : [`shard ${shard}: kept ${kept.join(', ')}, not the latest (${pointer.object}) and at most the one before`]),
            ...kept.filter((name) => Number(name.split('-').at(-1)) < extent.first - 1).map((name) => `shard ${shard}: ${name} is kept but the log no longer reaches back to it`),
          ];
        });
        return problems.length === 0;
      },
      'the snapshot catalogue to settle',
      15_000,
    ).catch((error: Error) => assert.fail(`${error.message}: ${problems.join('; ')}`));

    // A node joining with an empty data dir restores each shard's snapshot, then reads the rest of the log.
    const started = performance.now();
    const joined = await cluster.addNode();
    const joinMs = performance.now() - started;
    const [statsA, , statsC] = await whenSettled([a, b, joined.url]);
    assert.equal(statsC!.unique_processed, statsA!.unique_processed);
    assert.equal(statsA!.unique_processed, sent);
    for (const replica of await replicas(joined.url)) assert.equal(replica.restored, 1, `shard ${replica.shard} of the new node came from a snapshot, not from a replay`);
    const [eventsA, eventsC] = await Promise.all([allEvents(a), allEvents(joined.url)]);
    assert.deepEqual(eventsC, eventsA, 'the new node lists the same events, seqs and order');
    // The snapshots carried each shard's word index with its rows: the new node searches exactly.
    for (const q of ['auth', 'auth -service', 'user_id:123 topic:snap.1']) {
      const expected = oracleMatches(eventsA, { q }).map((found) => found.seq).sort((x, y) => y - x);
      assert.deepEqual((await searchAll(joined.url, { q }, 'desc', 50)).events.map((found) => found.seq), expected, `search ${q} on the new node`);
      const tops = await Promise.all([a, joined.url].map(async (url) => (await getJson(`${url}/search/top?${new URLSearchParams({ q, field: 'topic' })}`)).body));
      assert.deepEqual(tops[1], tops[0], `top of ${q} on the new node`);
    }
    await assertSameReplicas(cluster.nodes.map((node) => node.dataDir), kShards);
    const metrics = await (await fetch(`${joined.url}/metrics`)).text();
    for (let shard = 0; shard < kShards; shard++) assert.match(metrics, new RegExp(`aggregator_cluster_restores_total\\{shard="${shard}"\\} 1\\b`));
    console.log(`# a node joining after ${sent} events became a caught-up replica in ${Math.round(joinMs)} ms (start to listening)`);
    await joined.stop();
  });

  test('a replica paused across a purge refuses the gap, rebuilds from the latest snapshot, and ends equal; no acknowledged event lost', async () => {
    const [a, b] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
    await whenSettled([a.url, b.url]);
    const appliedBefore = (await replicas(b.url)).map((replica) => replica.applied);
    const restoredBefore = (await replicas(b.url)).map((replica) => replica.restored);
    let awake = false;
    const load = startLoad({ targets: () => (awake ? [a.url, b.url] : [a.url]), concurrency: 2, batch: 20, keySpace: 5000, prefix: 'gap' });
    b.pause();
    try {
      await publishUntilPurged(cluster, a.url, appliedBefore, 'away');
    } finally {
      b.resume();
      awake = true;
    }
    // Load goes to both nodes again while b finds its gap and rebuilds.
    await waitFor(async () => (await replicas(b.url)).every((replica, shard) => replica.restored > restoredBefore[shard]! && replica.caught_up), 'b to rebuild every shard from a snapshot', 60_000);
    const record = await load.stop();
    assert.ok(record.acknowledged > 0);
    await whenSettled([a.url, b.url], 60_000);
    const [eventsA, eventsB] = await Promise.all([allEvents(a.url), allEvents(b.url)]);
    assert.deepEqual(eventsB, eventsA);
    const stored = new Set(eventsA.map((stored: { topic: string; event_id: string }) => `${stored.topic}/${stored.event_id}`));
    assert.deepEqual(checkVerdicts(record, stored), []);
    await assertSameReplicas([a.dataDir, b.dataDir], kShards);
    assert.match(b.server!.tail(), /gap: the log starts at \d+ and this replica applied through \d+|restored a snapshot/);
  });
});
