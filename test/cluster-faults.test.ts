/**
 * Cluster mode under faults, on a real cluster (3 nats-server processes and 2 aggregators holding
 * every shard, or 3 aggregators with `--replicas 2`, each lacking a third of the shards, on
 * 127.0.0.1) with publishers running through every fault: kill -9 of a node that owns shards,
 * kill -9 of a shard stream's NATS leader, and a NATS node and an owner SIGSTOPped past the lease
 * TTL. After each: no acknowledged event lost, no wrong verdict, one stored copy per key, exact
 * counters, each shard's copies equal row for row (and emptied where a node let it go), and a
 * /tail subscriber that saw every event once across the failover.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { allEvents, assertHoldersAgree, checkVerdicts, getJson, missingNatsServer, startAggregatorCluster, startLoad, waitFor, whenPlaced, whenSettled, type AggregatorCluster, type AggregatorNode, type LoadRecord } from './helper.js';

const kTtlMs = 3000;
const kShards = 4;

for (const shape of [
  { nodes: 2, replicas: 2 },
  { nodes: 3, replicas: 2 },
]) {
  describe(`cluster mode under faults: ${shape.nodes} nodes, --replicas ${shape.replicas}`, { skip: missingNatsServer() ?? false, timeout: 300_000 }, () => {
    let cluster: AggregatorCluster;
    let nodes: readonly AggregatorNode[];
    before(async () => {
      cluster = await startAggregatorCluster({ nodes: shape.nodes, shards: kShards, leaseTtlMs: kTtlMs, args: ['--replicas', String(shape.replicas)] });
      nodes = cluster.nodes;
      await whenPlaced(nodes, kShards, shape.replicas);
    });
    after(() => cluster.stop());

    const up = (): string[] => nodes.filter((node) => node.server !== null).map((node) => node.url);
    const owned = async (node: AggregatorNode): Promise<number[]> => (await getJson(`${node.url}/health`)).body.cluster.owned as number[];
    const ownedBy = async (some: readonly AggregatorNode[]): Promise<number> => (await Promise.all(some.map(owned))).reduce((sum, shards) => sum + shards.length, 0);
    /** A node that owns shards, and the others. */
    const anOwner = async (): Promise<{ owner: AggregatorNode; others: AggregatorNode[] }> => {
      const lists = await Promise.all(nodes.map(owned));
      const owner = nodes[lists.findIndex((list) => list.length > 0)]!;
      return { owner, others: nodes.filter((node) => node !== owner) };
    };

    /** Everything every test checks once the fault is over and the load stopped. */
    async function checkAfter(record: LoadRecord, prefix: string): Promise<void> {
      const settled = await whenSettled(up(), 60_000);
      // The counters move at commit, the listing at the node's watermark a moment later (docs/API.md:
      // visible a few ms to ~100 ms after the 200): wait for it, bounded, rather than read it once.
      for (const node of nodes) {
        let listed = -1;
        await waitFor(async () => (listed = (await allEvents(node.url)).length) === settled[0]!.unique_processed, `${node.name} to list every stored event`, 10_000).catch(() => {
          assert.equal(listed, settled[0]!.unique_processed, `${node.name} lists every stored event`);
        });
      }
      const events = (await allEvents(nodes[1]!.url)).filter((stored) => stored.topic.startsWith(`${prefix}.`));
      const keys = events.map((stored) => `${stored.topic}/${stored.event_id}`);
      const stored = new Set(keys);
      assert.equal(stored.size, keys.length, 'one stored copy per key');
      assert.deepEqual(checkVerdicts(record, stored), []);
      assert.ok(record.acknowledged > 20, `only ${record.acknowledged} requests were acknowledged`);
      const totals = settled[0]!;
      assert.equal(totals.received, totals.unique_processed + totals.duplicate_dropped);
      const everything = await allEvents(nodes[0]!.url);
      assert.equal(totals.unique_processed, everything.length, 'counters exact: unique = rows stored');
      await assertHoldersAgree(nodes, kShards, shape.replicas);
    }

    test('an owner is killed with -9 under load: the others take its shards, a tail on one misses nothing, the owner comes back caught up', async () => {
      await waitFor(async () => (await ownedBy(nodes)) === kShards, 'every shard owned', 20_000);
      const { owner, others } = await anOwner();
      const survivor = others[0]!;
      const cursor = (await getJson(`${survivor.url}/stats`)).body.cursor as string;
      const socket = new WebSocket(`ws://127.0.0.1:${survivor.server!.port}/tail?after=${cursor}`);
      const tailed: string[] = [];
      socket.on('message', (data) => tailed.push(...(JSON.parse(String(data)) as { events: { topic: string; event_id: string }[] }).events.map((stored) => `${stored.topic}/${stored.event_id}`)));
      await once(socket, 'open');
      const load = startLoad({ targets: up, concurrency: 4, batch: 20, keySpace: 4000, prefix: 'owner' });
      await waitFor(async () => load.record.acknowledged >= 30, 'load to flow', 20_000);
      await owner.crash();
      // Its shards move to their other holders; with fewer replicas than nodes, to new ones too (from a snapshot and the log).
      await waitFor(async () => (await ownedBy(others)) === kShards, 'the survivors to own every shard', kTtlMs * 3 + 20_000);
      const acknowledgedAtCrash = load.record.acknowledged;
      await waitFor(async () => load.record.acknowledged >= acknowledgedAtCrash + 30, 'load to go on through the survivors', 20_000);
      await owner.start();
      const record = await load.stop();
      await checkAfter(record, 'owner');
      const events = (await allEvents(survivor.url)).map((stored) => `${stored.topic}/${stored.event_id}`);
      await waitFor(async () => tailed.length >= events.filter((key) => key.startsWith('owner.')).length, 'the tail to catch up', 20_000);
      socket.close();
      assert.equal(new Set(tailed).size, tailed.length, 'the tail repeated nothing');
      assert.deepEqual(tailed.filter((key) => key.startsWith('owner.')), events.filter((key) => key.startsWith('owner.')), 'the tail saw every event, in order');
    });

    test('the NATS leader of a shard stream is killed with -9 under load: requests stall and go on, nothing acknowledged is lost', async () => {
      const leaderName = await cluster.nats.electedLeader('AGG_0');
      const leader = cluster.nats.nodes.find((node) => node.name === leaderName)!;
      const load = startLoad({ targets: up, concurrency: 4, batch: 20, keySpace: 4000, prefix: 'leader' });
      await waitFor(async () => load.record.acknowledged >= 30, 'load to flow', 20_000);
      await leader.crash();
      const acknowledgedAtCrash = load.record.acknowledged;
      await waitFor(async () => load.record.acknowledged >= acknowledgedAtCrash + 30, 'load to go on after the failover', 40_000);
      await leader.start();
      const record = await load.stop();
      await cluster.nats.current();
      assert.ok(record.longestGapMs < 20_000, `stalled ${record.longestGapMs} ms`);
      await checkAfter(record, 'leader');
    });

    test('a NATS node and an owner are SIGSTOPped past the lease TTL: the others take over, the paused one gives its leases up on waking', async () => {
      const { owner, others } = await anOwner();
      // Not the lease bucket's leader: with 2.9.10, pausing that one sometimes stalled every KV call
      // for over 20 s (a leader's death is the previous test's case, with kill -9).
      const kvLeader = await cluster.nats.electedLeader('KV_agg_leases');
      const natsNode = cluster.nats.nodes.find((node) => node.name !== kvLeader)!;
      const load = startLoad({ targets: () => others.filter((node) => node.server).map((node) => node.url), concurrency: 4, batch: 20, keySpace: 4000, prefix: 'paused' });
      await waitFor(async () => load.record.acknowledged >= 30, 'load to flow', 20_000);
      owner.pause();
      natsNode.pause();
      // The TTL, plus a KV failover when the paused NATS node led the lease bucket (4-8 s).
      await waitFor(async () => (await ownedBy(others)) === kShards, 'the others to own every shard', kTtlMs * 3 + 20_000).catch(async (error: Error) => {
        throw new Error(`${error.message}; their health: ${JSON.stringify(await Promise.all(others.map(async (node) => (await getJson(`${node.url}/health`)).body)))}`);
      });
      owner.resume();
      natsNode.resume();
      await waitFor(async () => (await ownedBy(nodes)) === kShards, 'no shard owned twice after waking', kTtlMs * 3);
      const record = await load.stop();
      await checkAfter(record, 'paused');
    });
  });
}
