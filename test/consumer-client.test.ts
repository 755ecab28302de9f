/**
 * The client against a real server: the Consumer class (handlers that sometimes throw, a consumer
 * stopped halfway and another taking over, applying into its own SQLite table keyed by
 * (topic, event_id), the docs' effectively-once example) and the aggregator-consumer CLI's --verify.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { Consumer, type Message } from '../src/consumer/consumer.js';
import { event, groupCall, makeTempDir, publish, runNode, startServer, waitFor } from './helper.js';

async function publishJobs(url: string, count: number): Promise<void> {
  const batch = Array.from({ length: count }, (_, index) => event({ topic: `jobs.${index % 2}`, event_id: `job-${index}`, payload: { amount: index } }));
  assert.equal((await publish(url, batch)).status, 200);
}

describe('the consumer client', () => {
  test('Consumer: handlers that throw are naked and come back; every event is handled and acked; stop finishes the handlers in flight', async () => {
    const server = await startServer();
    try {
      await publishJobs(server.url, 300);
      const handled = new Map<string, number>();
      let calls = 0;
      const consumer = new Consumer({
        url: server.url,
        group: 'workers',
        create: { topics: 'jobs.*', ackWaitMs: 5000, backoffMs: [] },
        concurrency: 8,
        nakDelayMs: 0,
        handler: async (message: Message) => {
          // Every tenth call fails: its message must come back and succeed later.
          if (++calls % 10 === 0) throw new Error('transient');
          handled.set(message.event.event_id, (handled.get(message.event.event_id) ?? 0) + 1);
        },
      });
      const running = consumer.run();
      await waitFor(async () => (await groupCall(server.url, 'workers', '')).body.state?.acked === 300, 'every message acked');
      await consumer.stop();
      await running;
      assert.equal(handled.size, 300);
      const { state } = (await groupCall(server.url, 'workers', '')).body;
      assert.deepEqual({ acked: state.acked, pending: state.pending, lag: state.lag, dead: state.dead_lettered }, { acked: 300, pending: 0, lag: 0, dead: 0 });
      assert.ok(state.redelivered >= 1 && consumer.counters.failures >= 1, 'failures were redelivered');
    } finally {
      await server.stop();
    }
  });

  test('effectively once: consumers applying into their own table by (topic, event_id), one stopped halfway, leave each event applied once', async () => {
    const server = await startServer();
    const db = new Database(join(await makeTempDir(), 'applied.db'));
    try {
      db.exec('CREATE TABLE applied (topic TEXT, event_id TEXT, amount INTEGER, PRIMARY KEY (topic, event_id))');
      const apply = db.prepare('INSERT OR IGNORE INTO applied (topic, event_id, amount) VALUES (?, ?, ?)');
      let applies = 0;
      const handler = async ({ event: stored }: Message): Promise<void> => {
        applies++;
        apply.run(stored.topic, stored.event_id, (stored.payload as { amount: number }).amount);
      };
      await publishJobs(server.url, 400);
      const abort = new AbortController();
      const first = new Consumer({ url: server.url, group: 'ledger', create: { topics: 'jobs.*', ackWaitMs: 500, backoffMs: [] }, handler, signal: abort.signal, concurrency: 4 });
      const firstRun = first.run().catch(() => {});
      await waitFor(() => applies >= 100, 'the first consumer to apply some');
      // Cut off with work in flight: what it took and did not ack comes back to the next one.
      abort.abort();
      await firstRun;
      const second = new Consumer({ url: server.url, group: 'ledger', handler, concurrency: 4 });
      const secondRun = second.run();
      await waitFor(async () => (await groupCall(server.url, 'ledger', '')).body.state?.acked === 400, 'every message acked');
      await second.stop();
      await secondRun;
      assert.equal(db.prepare('SELECT count(*) FROM applied').pluck().get(), 400);
      assert.equal(db.prepare('SELECT sum(amount) FROM applied').pluck().get(), (399 * 400) / 2);
    } finally {
      db.close();
      await server.stop();
    }
  });

  test('aggregator-consumer --verify: every stored event of the topics processed and acked, none acked twice; exit 0', async () => {
    const server = await startServer();
    try {
      await publishJobs(server.url, 250);
      const run = await runNode(['dist/consumer.js', '--url', server.url, '--group', 'cli', '--topics', 'jobs.0,jobs.1', '--exit-when-idle', '1500', '--fail-rate', '0.1', '--nak-delay-ms', '0', '--verify', '--json'], { timeoutMs: 60_000 });
      assert.equal(run.code, 0, run.stderr + run.stdout);
      const report = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
      assert.equal(report.ok, true);
      assert.equal(report.acked, 250);
      assert.ok(report.failures > 0);
      const bad = await runNode(['dist/consumer.js', '--url', server.url, '--group', 'cli', '--topics', 'other'], { timeoutMs: 30_000 });
      assert.equal(bad.code, 1, 'a group that exists with other topics is refused');
      assert.match(bad.stderr + bad.stdout, /group_conflict/);
    } finally {
      await server.stop();
    }
  });
});
