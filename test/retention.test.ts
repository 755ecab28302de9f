/**
 * Retention (`--retention`) on a real server and real shard files: events expire by receive age,
 * per topic pattern, inside the shard writers; an expired event's identity is kept, so a late
 * resend is a duplicate; the counters stay exact (stored == unique - expired - deleted) across a
 * graceful restart and a kill -9 in the middle of a large expiry. Ages are a second or two, and
 * the tests wait for the expiry to be seen in /stats, not for a fixed time.
 */
import assert from 'node:assert/strict';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, test } from 'node:test';
import { allEvents, event, makeTempDir, publish, runServer, startServer, stats, waitFor } from './helper.js';

const batchOf = (topic: string, from: number, count: number) => Array.from({ length: count }, (_, index) => event({ topic, event_id: `${topic}-${from + index}`, payload: { n: from + index } }));

async function publishAll(url: string, events: readonly ReturnType<typeof event>[]): Promise<void> {
  for (let start = 0; start < events.length; start += 1000) {
    const reply = await publish(url, events.slice(start, start + 1000));
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
  }
}

describe('retention', () => {
  test('events past their topic\'s age expire; others stay; a late resend of an expired event is a duplicate', async () => {
    const server = await startServer({ args: ['--retention', 'short.*=1s,*=365d'] });
    try {
      await publishAll(server.url, [...batchOf('short.a', 0, 150), ...batchOf('keep', 0, 20)]);
      await waitFor(async () => (await stats(server.url)).expired === 150, 'the short topic to expire', 15_000);
      const after = await stats(server.url);
      assert.deepEqual([after.unique_processed, after.expired, after.deleted, after.stored], [170, 150, 0, 20]);
      assert.deepEqual(after.topic_storage, { 'short.a': { stored: 0, expired: 150, deleted: 0 } });
      assert.equal((await allEvents(server.url, 'short.a')).length, 0);
      assert.equal((await allEvents(server.url, 'keep')).length, 20);

      const resend = await publish(server.url, batchOf('short.a', 0, 150), { query: '?results=1' });
      assert.equal(resend.status, 200);
      assert.deepEqual([resend.body.unique, resend.body.duplicates], [0, 150], 'identities outlive their rows');
      assert.ok(resend.body.results.every((result: { status: string }) => result.status === 'duplicate'));
      assert.equal((await allEvents(server.url, 'short.a')).length, 0, 'nothing came back');
      const fresh = await publish(server.url, batchOf('short.a', 1000, 5));
      assert.equal(fresh.body.unique, 5, 'new ids of an expiring topic are stored as usual');

      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      assert.match(metrics, /^aggregator_events_expired_total 150$/m);
      assert.match(metrics, /^aggregator_events_stored 25$/m);
    } finally {
      await server.stop();
    }
  });

  test('counters stay exact across a kill -9 in the middle of a large expiry, and a graceful restart', async () => {
    const dataDir = await makeTempDir();
    const first = await startServer({ dataDir, args: ['--retention', 'bulk=1s'] });
    await publishAll(first.url, batchOf('bulk', 0, 30_000));
    await publishAll(first.url, batchOf('other', 0, 100));
    // Expiry goes 2000 rows a transaction: kill while some, not all, are gone.
    await waitFor(async () => (await stats(first.url)).expired > 0, 'expiry to begin', 15_000);
    await first.crash();

    const check = async (url: string): Promise<number> => {
      const now = await stats(url);
      const stored = (await allEvents(url, 'bulk')).length + (await allEvents(url, 'other')).length;
      assert.equal(now.stored, stored, 'stored == what /events serves');
      assert.equal(now.stored, now.unique_processed - now.expired - now.deleted);
      assert.equal(now.received, now.unique_processed + now.duplicate_dropped);
      return now.expired;
    };
    // Without the rule, nothing expires while the counters are compared with the rows.
    const paused = await startServer({ dataDir });
    const expiredAtCrash = await check(paused.url);
    assert.ok(expiredAtCrash > 0 && expiredAtCrash < 30_000, `the kill came mid-expiry (${expiredAtCrash} expired)`);
    await paused.stop();
    const second = await startServer({ dataDir, args: ['--retention', 'bulk=1s'] });
    await waitFor(async () => (await stats(second.url)).expired === 30_000, 'the rest to expire', 30_000);
    await check(second.url);
    const resend = await publish(second.url, batchOf('bulk', 0, 1000));
    assert.equal(resend.body.duplicates, 1000, 'identities expired before and after the crash are both kept');
    await second.stop();

    // Without the rule nothing more expires, and what expired stays counted.
    const third = await startServer({ dataDir });
    assert.equal(await check(third.url), 30_000);
    assert.equal((await stats(third.url)).stored, 100);
    await third.stop();
  });

  test('--retention-bytes: a topic over its size loses its oldest events until it fits; others are untouched', async () => {
    const server = await startServer({ args: ['--retention-bytes', 'sized=40KB'] });
    try {
      const sized = Array.from({ length: 600 }, (_, index) => event({ topic: 'sized', event_id: `s-${String(index).padStart(4, '0')}`, payload: { pad: 'p'.repeat(100) } }));
      await publishAll(server.url, [...sized, ...batchOf('free', 0, 600)]);
      // What a row counts: its id, timestamp, source and payload text.
      const rowSize = JSON.stringify(sized[0]!.payload).length + 's-0000'.length + sized[0]!.timestamp.length + sized[0]!.source.length;
      // Each of the two shards keeps its half of the limit: at most one row over it each.
      await waitFor(async () => ((await stats(server.url)).topic_storage.sized?.stored ?? 600) * rowSize <= 40_000 + 2 * rowSize, 'the sized topic to shrink', 15_000);
      const left = await allEvents(server.url, 'sized');
      assert.ok(left.length * rowSize >= 40_000 - 2 * rowSize, `no more than the excess went: ${left.length} rows of ${rowSize} characters left`);
      const newest = left.map((item) => item.event_id);
      assert.deepEqual(newest, [...newest].sort(), 'in order');
      assert.ok(newest.includes('s-0599'), 'the newest stay');
      assert.equal((await allEvents(server.url, 'free')).length, 600);
      assert.equal((await stats(server.url)).topic_storage.sized.stored, left.length);
    } finally {
      await server.stop();
    }
  });

  test('--forget-after: exact dedup until the bound, then a resend is stored again', async () => {
    const server = await startServer({ args: ['--retention', 'short=1s', '--forget-after', '4s'] });
    try {
      await publishAll(server.url, batchOf('short', 0, 50));
      await waitFor(async () => (await stats(server.url)).expired === 50, 'the events to expire', 15_000);
      // Retirement times are whole seconds: within 3 s of the expiry every identity is still there.
      const early = await publish(server.url, batchOf('short', 0, 50));
      assert.equal(early.body.duplicates, 50, 'remembered inside the bound');
      await waitFor(async () => (await publish(server.url, batchOf('short', 0, 1))).body.unique === 1, 'the first identity to be forgotten', 20_000);
      await waitFor(async () => (await publish(server.url, batchOf('short', 49, 1))).body.unique === 1, 'the last identity to be forgotten', 20_000);
    } finally {
      await server.stop();
    }
  });

  test('--max-data-bytes: past the data dir\'s budget the oldest events expire, whatever their topic', async () => {
    const server = await startServer({ args: ['--max-data-bytes', '2MiB'] });
    try {
      const events = Array.from({ length: 30_000 }, (_, index) => event({ topic: `t${index % 3}`, event_id: `m-${String(index).padStart(5, '0')}`, payload: { pad: 'q'.repeat(60) } }));
      await publishAll(server.url, events);
      const used = (): number =>
        [0, 1].reduce((sum, shard) => {
          const db = new Database(join(server.dataDir, `shard-00${shard}.db`), { readonly: true });
          const bytes = ((db.pragma('page_count', { simple: true }) as number) - (db.pragma('freelist_count', { simple: true }) as number)) * (db.pragma('page_size', { simple: true }) as number);
          db.close();
          return sum + bytes;
        }, 0);
      await waitFor(async () => (await stats(server.url)).expired > 0 && used() <= 2 * 1024 * 1024, 'the data dir to fit its budget', 20_000);
      // The writer may still be expiring (its view of the file includes WAL pages this reader's
      // page count does not): compare the counters with the events served only when no expiry
      // slice landed between the two reads.
      let now = await stats(server.url);
      let kept: string[] = [];
      await waitFor(async () => {
        const before = await stats(server.url);
        kept = [...(await allEvents(server.url))].map((item) => item.event_id).sort();
        now = await stats(server.url);
        return before.expired === now.expired;
      }, 'a moment with no expiry between two reads', 20_000);
      assert.ok(now.stored > 0 && now.stored < 30_000, `${now.stored} stored`);
      assert.equal(now.stored + now.expired, 30_000);
      assert.equal(kept.length, now.stored);
      assert.equal(kept.at(-1), 'm-29999', 'the newest stay');
      assert.ok(!kept.includes('m-00000'), 'the oldest went first');
      assert.equal((await publish(server.url, events.slice(0, 100))).body.duplicates, 100, 'what the budget expired is still remembered');
    } finally {
      await server.stop();
    }
  });

  test('a malformed rule stops start-up, naming it', async () => {
    for (const rule of ['debug.*', 'x=5 days', 'a=1d,b=', 'bad topic=1d']) {
      const run = await runServer(['--data-dir', await makeTempDir(), '--retention', rule]);
      assert.equal(run.code, 1, rule);
      assert.match(run.stderr, /--retention: retention rule .* is not <topic pattern>=<age>/, rule);
    }
  });
});

describe('format upgrade', () => {
  test('a data dir written by the previous release (format 2) opens: migrated in place, events, counters and dedup kept', async () => {
    const dataDir = await makeTempDir();
    await cp(new URL('fixtures/data-dir-format-2/', import.meta.url), dataDir, { recursive: true });
    const upgraded = await startServer({ dataDir });
    try {
      const before = await stats(upgraded.url);
      assert.deepEqual([before.received, before.unique_processed, before.duplicate_dropped, before.stored], [6, 5, 1, 5]);
      assert.deepEqual(
        (await allEvents(upgraded.url)).map((item) => [item.topic, item.event_id]),
        [['orders.eu', 'o-1'], ['orders.eu', 'o-2'], ['audit', 'a-1'], ['debug.web', 'd-1'], ['debug.web', 'd-2']],
      );
      const again = await publish(upgraded.url, [event({ topic: 'orders.eu', event_id: 'o-1' }), event({ topic: 'orders.eu', event_id: 'o-3' })]);
      assert.deepEqual([again.body.unique, again.body.duplicates], [1, 1], 'an identity stored before the upgrade is still a duplicate');
    } finally {
      await upgraded.stop();
    }
    // The migrated files take part in the new lifecycle: the old debug events expire.
    const server = await startServer({ dataDir, args: ['--retention', 'debug.*=1s'] });
    try {
      await waitFor(async () => (await stats(server.url)).expired === 2, 'the migrated debug events to expire', 15_000);
      assert.equal((await allEvents(server.url, 'debug.web')).length, 0);
    } finally {
      await server.stop();
    }
  });
});
