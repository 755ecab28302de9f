/**
 * The cluster tests' own ground: the helper's 3-node nats-server cluster, driven by the nats.js
 * client the cluster mode uses (nats@2.29.3), holds what ../shared/spec/cluster.md builds on. An R3
 * stream loses no acknowledged message and stores no retried one twice (same Msg-Id inside the
 * duplicate window) when its leader is killed with -9 under load, and the killed node catches up.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connect, StorageType, type JetStreamClient } from 'nats';
import { missingNatsServer, startNatsCluster, whenAnswered } from '../harness/nats-cluster.js';
import { waitFor } from '../harness/wait.js';

const kMessages = 1500;
const kWindowNs = 120 * 1e9;

/** Publishes until acknowledged (the same Msg-Id every time), for at most 20 s: what the cluster ingress will do. Returns the attempts it took. */
async function publishUntilAcked(js: JetStreamClient, subject: string, index: number): Promise<number> {
  let attempts = 0;
  await whenAnswered(async () => {
    attempts++;
    await js.publish(subject, new TextEncoder().encode(String(index)), { msgID: `m-${index}`, timeout: 1000 });
  }, 20_000);
  return attempts;
}

describe('NATS cluster harness', { skip: missingNatsServer() ?? false }, () => {
  test('an R3 stream keeps every acknowledged message exactly once across a kill -9 of its leader', { timeout: 90_000 }, async () => {
    const cluster = await startNatsCluster(3);
    const client = await connect({ servers: cluster.urls.split(','), maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    try {
      const jsm = await client.jetstreamManager();
      await whenAnswered(() => jsm.streams.add({ name: 'HARNESS', subjects: ['harness'], num_replicas: 3, storage: StorageType.File, duplicate_window: kWindowNs }));
      const js = client.jetstream();
      const leader = await cluster.electedLeader('HARNESS');
      assert.ok(leader, 'the stream has a leader');
      let retried = 0;
      for (let index = 0; index < kMessages; index++) {
        if (index === kMessages / 3) await cluster.nodes.find((node) => node.name === leader)!.crash();
        retried += (await publishUntilAcked(js, 'harness', index)) - 1;
      }
      assert.ok(retried > 0, 'the kill made publishes retry (else the test proved nothing)');
      const newLeader = await whenAnswered(async () => {
        const current = await cluster.streamLeader('HARNESS');
        if (!current || current === leader) throw new Error(`no new leader yet (${current})`);
        return current;
      });
      assert.notEqual(newLeader, leader, 'a new leader took over');
      const info = await whenAnswered(() => jsm.streams.info('HARNESS'));
      assert.equal(info.state.messages, kMessages, 'every acknowledged message once: no loss, no retry stored twice');
      // The killed node rejoins and its replica catches up.
      const killed = cluster.nodes.find((node) => node.name === leader)!;
      await killed.start();
      let replica: number | null = null;
      await waitFor(async () => (replica = await cluster.replicaMessages(killed, 'HARNESS')) === kMessages, () => `${killed.name} to catch up (${replica} of ${kMessages} messages)`, { timeoutMs: 20_000, intervalMs: 100 });
      const consumer = await whenAnswered(() => js.consumers.get('HARNESS'));
      const seen = new Set<string>();
      const messages = await consumer.fetch({ max_messages: kMessages, expires: 10_000 });
      for await (const message of messages) {
        seen.add(new TextDecoder().decode(message.data));
        if (seen.size === kMessages) break;
      }
      assert.equal(seen.size, kMessages);
    } finally {
      await client.close();
      await cluster.stop();
    }
  });
});
