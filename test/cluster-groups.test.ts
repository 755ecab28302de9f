/**
 * Consumer groups in cluster mode, on a real cluster (3 nats-server, 2 aggregators): a group made on
 * one node is served by both, consumers on both share it, and through kill -9 of the shards' owner
 * and of a shard stream's NATS leader no message is in flight to two consumers inside its ack
 * wait, none comes back after its ack was answered, and every event ends acked once, as both
 * nodes' replicas count it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { event, fetchMessages, getJson, groupCall, missingNatsServer, publish, startAggregatorCluster, waitFor, type AggregatorCluster, type AggregatorNode } from './helper.js';

const kShards = 4;
// Long enough that a fetch slowed by a failover still hands its grants out before their hold ends.
const kAckWaitMs = 4000;

describe('consumer groups in cluster mode', { skip: missingNatsServer() ?? false, timeout: 240_000 }, () => {
  let cluster: AggregatorCluster;
  let nodes: readonly AggregatorNode[];
  before(async () => {
    cluster = await startAggregatorCluster({ nodes: 2, shards: kShards, leaseTtlMs: 3000 });
    nodes = cluster.nodes;
  });
  after(() => cluster.stop());

  test('consumers on both nodes through owner and NATS leader kill -9: no double in-flight, no redelivery after an answered ack, all acked once', async () => {
    assert.equal((await groupCall(nodes[0]!.url, 'work', '', { topics: 'jobs', ack_wait_ms: kAckWaitMs, backoff_ms: [], max_deliver: 1000 })).status, 201);
    await waitFor(async () => (await groupCall(nodes[1]!.url, 'work', '')).status === 200, 'the group on the other node', 20_000);
    let published = 0;
    const publishSome = async (url: string, count: number): Promise<void> => {
      const batch = Array.from({ length: count }, (_, index) => event({ topic: 'jobs', event_id: `j${published + index}` }));
      assert.equal((await publish(url, batch)).status, 200);
      published += count;
    };
    await publishSome(nodes[0]!.url, 200);
    await publishSome(nodes[1]!.url, 200);
    const leases = new Map<string, { consumer: number; until: number }>();
    const ackAnswered = new Map<string, number>();
    const delivered = new Set<string>();
    const violations: string[] = [];
    let stopping = false;
    const t0 = Date.now();
    const marks: string[] = [];
    const lastErrors: string[] = [];
    const consumer = async (index: number, node: AggregatorNode): Promise<void> => {
      while (!stopping) {
        let url: string;
        try {
          url = node.url;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 50));
          continue;
        }
        try {
          // A lease starts when the node takes the fetch, after this: so it ends no later than `asked` + the ack wait.
          const asked = Date.now();
          const messages = await fetchMessages(url, 'work', 10, 200);
          for (const message of messages) {
            const key = message.event.event_id;
            const lease = leases.get(key);
            // Granted after the fetch began: a violation only if the ack was answered before that.
            if ((ackAnswered.get(key) ?? Infinity) < asked) violations.push(`${key} (${message.id}, count ${message.delivery_count}) to ${index} at ${asked - t0}: delivered after its ack was answered`);
            if (lease && lease.consumer !== index && asked < lease.until) violations.push(`${key} to consumer ${index} while ${lease.consumer} holds it for ${lease.until - asked} ms more`);
            leases.set(key, { consumer: index, until: asked + kAckWaitMs });
            delivered.add(key);
          }
          const reply = await groupCall(url, 'work', 'ack', { ids: messages.map((message) => message.id) });
          if (reply.status !== 200) continue;
          for (const result of reply.body.results as { id: string; status: string }[]) {
            if (result.status === 'acked') ackAnswered.set(messages.find((message) => message.id === result.id)!.event.event_id, Date.now());
          }
        } catch (error) {
          // The node died under the request, or refused it during a failover: not answered, so nothing learned.
          lastErrors[index] = `${Date.now() - t0}: ${(error as Error).message.slice(0, 200)}`;
        }
      }
    };
    const consumers = [consumer(0, nodes[0]!), consumer(1, nodes[0]!), consumer(2, nodes[1]!), consumer(3, nodes[1]!)];
    // Whatever fails below, the consumers stop: their loops would keep the test process alive.
    try {
      const owned = async (node: AggregatorNode): Promise<number> => ((await getJson(`${node.url}/health`)).body.cluster.owned as number[]).length;
      await waitFor(async () => ackAnswered.size >= 80, 'consumption to flow', 30_000);
      const owner = (await owned(nodes[0]!)) > 0 ? nodes[0]! : nodes[1]!;
      const survivor = owner === nodes[0] ? nodes[1]! : nodes[0]!;
      await owner.crash();
      marks.push(`owner ${owner.name} crashed at ${Date.now() - t0}`);
      await publishSome(survivor.url, 100);
      // Progress as the survivor counts it: an ack committed while its answer was lost in a failure
      // is never answered "acked" (nor delivered again), so the consumers' own tally can fall short.
      const acked = async (): Promise<number> => (await groupCall(survivor.url, 'work', '')).body.state?.acked ?? 0;
      const atOwnerCrash = await acked();
      await waitFor(async () => (await acked()) >= atOwnerCrash + 60, 'consumption to go on through the survivor', 40_000);
      await owner.start();
      marks.push(`owner up at ${Date.now() - t0}`);
      const leaderName = await cluster.nats.electedLeader('AGG_0');
      await cluster.nats.nodes.find((node) => node.name === leaderName)!.crash();
      marks.push(`nats leader crashed at ${Date.now() - t0}`);
      await publishSome(survivor.url, 100);
      const atLeaderCrash = await acked();
      await waitFor(async () => (await acked()) >= Math.min(published, atLeaderCrash + 60), 'consumption to go on after the NATS failover', 60_000).catch(async (error: Error) => {
        const states = await Promise.all(nodes.map(async (node) => JSON.stringify((await groupCall(node.url, 'work', '')).body.state ?? null) + ' ' + JSON.stringify((await getJson(`${node.url}/health`)).body).slice(0, 600)));
        throw new Error(`${error.message}; ${atLeaderCrash} acked at the leader's kill; ${marks.join('; ')}; consumers' last errors: ${lastErrors.join(' | ')}; nodes: ${states.join(' || ')}`);
      });
      await cluster.nats.nodes.find((node) => node.name === leaderName)!.start();
      await waitFor(async () => (await groupCall(survivor.url, 'work', '')).body.state?.acked === published, 'every event acked', 60_000);
    } finally {
      stopping = true;
      await Promise.all(consumers);
    }
    assert.deepEqual(violations, [], marks.join('; '));
    assert.equal(delivered.size, published);
    for (const node of nodes) {
      await waitFor(async () => (await groupCall(node.url, 'work', '')).body.state?.acked === published, `${node.name}'s replicas to count every ack`, 30_000);
      const { state } = (await groupCall(node.url, 'work', '')).body;
      assert.deepEqual({ acked: state.acked, delivered: state.delivered, pending: state.pending, lag: state.lag }, { acked: published, delivered: published, pending: 0, lag: 0 }, node.name);
    }
  });
});
