/**
 * Cluster mode on a real cluster (harness/aggregator-cluster.ts): 3 nats-server processes
 * and 2 aggregator processes with `--cluster`, on 127.0.0.1. What a client sees must not depend
 * on which node it talks to: one stored copy per key whichever nodes the copies went to, the same
 * counters, the same pages, cursors that carry from one node to another, every route on every node.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { allEvents, event, getJson, assertSameReplicas, missingNatsServer, publish, startAggregatorCluster, stats, waitFor, whenSettled, type AggregatorCluster } from './helper.js';

describe('cluster mode: any node, one answer', { skip: missingNatsServer() ?? false, timeout: 120_000 }, () => {
  let cluster: AggregatorCluster;
  let a: string;
  let b: string;
  before(async () => {
    cluster = await startAggregatorCluster({ nodes: 2, shards: 4, args: ['--admin-token', 'admin-secret', '--replicas', '3'] }); // the joining third node holds every shard too: placement below the node count is cluster-scale-out.test.ts
    [a, b] = cluster.nodes.map((node) => node.url) as [string, string];
  });
  after(() => cluster.stop());

  test('the same ids published to different nodes at once are stored once; both nodes count and page the same', async () => {
    const ids = Array.from({ length: 300 }, (_, index) => `same-${index}`);
    const batch = (from: number) => ids.slice(from, from + 50).map((id) => event({ topic: `cross.${id.length % 3}`, event_id: id }));
    const answers = await Promise.all([0, 50, 100, 150, 200, 250].flatMap((from) => [publish(a, batch(from), { query: '?results=1' }), publish(b, batch(from), { query: '?results=1' })]));
    for (const answer of answers) assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const stored = answers.flatMap((answer) => answer.body.results as { event_id: string; status: string }[]).filter((result) => result.status === 'stored');
    assert.equal(stored.length, 300, 'each key told "stored" exactly once over both nodes');
    assert.equal(new Set(stored.map((result) => result.event_id)).size, 300);
    const [statsA] = (await whenSettled([a, b])) as [Awaited<ReturnType<typeof stats>>];
    assert.equal(statsA.unique_processed, 300);
    assert.equal(statsA.duplicate_dropped, 300);
    const [eventsA, eventsB] = await Promise.all([allEvents(a, undefined, 70), allEvents(b, undefined, 70)]);
    assert.equal(eventsA.length, 300);
    assert.deepEqual(eventsB, eventsA, 'the same events, seqs and order on both nodes');
    assert.equal(new Set(eventsA.map((stored) => stored.seq)).size, 300, 'seqs unique across shards');
    await assertSameReplicas([cluster.nodes[0]!.dataDir, cluster.nodes[1]!.dataDir], 4);
  });

  test('a cursor from one node goes on at another with no skip and no repeat; v1 cursors are refused', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; ; page++) {
      const url = page % 2 === 0 ? a : b;
      const answer: { status: number; body: { events: { event_id: string }[]; count: number; next: string } } = await getJson(`${url}/events?limit=23${after ? `&after=${after}` : ''}`);
      assert.equal(answer.status, 200);
      seen.push(...answer.body.events.map((stored) => stored.event_id));
      if (answer.body.count === 0) break;
      after = answer.body.next;
    }
    assert.equal(seen.length, new Set(seen).size);
    assert.equal(seen.length, (await stats(a)).unique_processed);
    const v1 = Buffer.from('v1:5').toString('base64url');
    const refused = await getJson(`${a}/events?after=${v1}`);
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error.code, 'invalid_query');
  });

  test('/health names the node, its NATS connection and every shard, and the nodes own every shard between them', async () => {
    await waitFor(async () => {
      const owned = await Promise.all([a, b].map(async (url) => (await getJson(`${url}/health`)).body.cluster.owned as number[]));
      return owned.flat().sort().join() === '0,1,2,3';
    }, 'every shard to have an owner', 20_000);
    const health = (await getJson(`${b}/health`)).body;
    assert.equal(health.status, 'ok');
    assert.equal(health.cluster.node, 'agg1');
    assert.equal(health.cluster.nats, 'connected');
    assert.deepEqual(health.cluster.replicas.map((replica: { shard: number }) => replica.shard), [0, 1, 2, 3]);
  });

  test('shipper routes and deletion work on any node: an Elasticsearch bulk on one, a deletion on the other, both nodes agree', async () => {
    const bulk = ['{"create":{"_index":"es.cluster","_id":"d1"}}', '{"message":"one"}', '{"create":{"_index":"es.cluster","_id":"d2"}}', '{"message":"two"}', ''].join('\n');
    const response = await fetch(`${b}/es/_bulk`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: bulk });
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { errors: boolean }).errors, false);
    const deletion = await fetch(`${a}/admin/delete`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer admin-secret' }, body: JSON.stringify({ topic: 'es.cluster', event_ids: ['d1'] }) });
    assert.equal(deletion.status, 200, await deletion.clone().text());
    assert.equal(((await deletion.json()) as { deleted: number }).deleted, 1);
    const [statsA, statsB] = (await whenSettled([a, b])) as [Awaited<ReturnType<typeof stats>>, Awaited<ReturnType<typeof stats>>];
    assert.equal(statsA.deleted, 1);
    assert.equal(statsB.deleted, 1);
    assert.deepEqual((await allEvents(b, 'es.cluster')).map((stored) => stored.event_id), ['d2']);
  });

  test('a rejected event is counted on every node', async () => {
    const before = (await stats(a)).rejected;
    const refused = await publish(b, [event(), { topic: 'bad topic!' }]);
    assert.equal(refused.status, 422);
    await waitFor(async () => (await stats(a)).rejected === before + 2, 'the rejection to reach the other node', 10_000);
  });

  test('a node joining with an empty data dir replays every log before it listens, then answers like the others', async () => {
    const joined = await cluster.addNode();
    const settled = await whenSettled([a, b, joined.url]);
    assert.equal(settled[2]!.unique_processed, settled[0]!.unique_processed);
    assert.deepEqual(await allEvents(joined.url, undefined, 200), await allEvents(a, undefined, 200));
    await assertSameReplicas([cluster.nodes[0]!.dataDir, joined.dataDir], 4);
    const answer = await publish(joined.url, [event({ topic: 'joined', event_id: 'j1' })]);
    assert.equal(answer.status, 200);
    assert.equal(answer.body.unique, 1);
  });
});
