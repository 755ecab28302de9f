/**
 * The cluster ingress's publish into a shard stream, on the real 3-node cluster: retried with the
 * same Msg-Id across a kill -9 of the stream leader, every message is stored exactly once and gets
 * its own stream position; a resend of an id already logged is answered as a duplicate of the same
 * position; without a quorum the publish gives up at its deadline with a 503, never a false ack.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect, StorageType, type NatsConnection } from 'nats';
import { StreamPublisher } from '../src/cluster/stream-publisher.js';
import { missingNatsServer, startNatsCluster, whenAnswered, type NatsCluster } from '../harness/nats-cluster.js';

const kWindowNs = 120 * 1e9;

describe('cluster stream publisher', { skip: missingNatsServer() ?? false }, () => {
  let cluster: NatsCluster;
  let client: NatsConnection;
  before(async () => {
    cluster = await startNatsCluster(3);
    client = await connect({ servers: cluster.urls.split(','), maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    await whenAnswered(async () => (await client.jetstreamManager()).streams.add({ name: 'AGG_0', subjects: ['agg.0'], num_replicas: 3, storage: StorageType.File, duplicate_window: kWindowNs }));
    await whenAnswered(async () => (await client.jetstreamManager()).streams.info('AGG_0'));
  });
  after(async () => {
    await client.close();
    await cluster.stop();
  });

  test('across a kill -9 of the stream leader: every message once, each at its own position', { timeout: 90_000 }, async () => {
    const publisher = new StreamPublisher(client.jetstream(), { deadlineMs: 20_000, attemptTimeoutMs: 1000, retryMs: 100 });
    const leader = await cluster.electedLeader('AGG_0');
    const results = [];
    for (let index = 0; index < 900; index++) {
      if (index === 300) await cluster.nodes.find((node) => node.name === leader)!.crash();
      results.push(await publisher.publish('agg.0', new TextEncoder().encode(`frame ${index}`)));
    }
    assert.ok(results.some((result) => result.attempts > 1), 'the kill made publishes retry');
    assert.equal(new Set(results.map((result) => result.seq)).size, 900, 'each its own position');
    assert.deepEqual(results.map((result) => result.seq), [...results.map((result) => result.seq)].sort((a, b) => a - b), 'in publish order');
    const info = await whenAnswered(async () => (await client.jetstreamManager()).streams.info('AGG_0'));
    assert.equal(info.state.messages, 900, 'no loss, no retry stored twice');

    const again = await publisher.publishAs(results[10]!.msgId, 'agg.0', new TextEncoder().encode('frame 10'));
    assert.deepEqual([again.duplicate, again.seq], [true, results[10]!.seq], 'a resend is the same logged message');
    await cluster.nodes.find((node) => node.name === leader)!.start();
  });

  test('without a quorum it gives up at its deadline with a 503, never a false ack', { timeout: 60_000 }, async () => {
    const publisher = new StreamPublisher(client.jetstream(), { deadlineMs: 3000, attemptTimeoutMs: 500, retryMs: 100 });
    // The count to compare with is the settled one: the node the last test restarted may still be
    // catching up, and a count read meanwhile would be short.
    const settled = async (): Promise<number> => {
      const info = await (await client.jetstreamManager()).streams.info('AGG_0');
      const replicas = info.cluster?.replicas ?? [];
      if (replicas.length < 2 || !replicas.every((replica) => replica.current && !replica.offline && (replica.lag ?? 0) === 0)) throw new Error('replicas still catching up');
      return info.state.messages;
    };
    const before = await whenAnswered(settled);
    const others = cluster.nodes.filter((node) => !client.getServer().endsWith(node.url.split(':').at(-1)!));
    // Two of three nodes paused: the one left cannot form a quorum.
    for (const node of others.slice(0, 2)) node.pause();
    try {
      const started = performance.now();
      await assert.rejects(publisher.publish('agg.0', new TextEncoder().encode('lost')), (error: { code?: string }) => error.code === 'overloaded');
      assert.ok(performance.now() - started >= 2500, 'it kept trying until the deadline');
    } finally {
      for (const node of others.slice(0, 2)) node.resume();
    }
    // Once the quorum is back the stream shows the unacknowledged message at most once: not a false ack, and possibly logged (a 503 may be stored, as in the embedded mode).
    const after = (await whenAnswered(async () => (await client.jetstreamManager()).streams.info('AGG_0'), 20_000)).state.messages;
    assert.ok(after - before <= 1, `at most the one unacknowledged message (${after - before})`);
  });
});
