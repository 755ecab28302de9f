/**
 * Search stays exact through every path that removes, copies or rebuilds stored events: expiry,
 * deletion (and re-storing a forgotten identity), backup and restore, a data dir from before
 * search (indexed in the background, exact meanwhile), and on a second cluster node. Each check
 * compares /search, /search/histogram and /search/top with the brute-force oracle over what
 * /events serves, after the word index has caught up (so the index's own entries are what answers).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { allEvents, getJson, makeTempDir, missingNatsServer, pollUntil, publish, runServer, startAggregatorCluster, startServer, stats, whenSettled, type TestServer } from './helper.js';
import { oracleHistogram, oracleMatches, oracleTop, ordered, searchAll } from './support/search-oracle.js';

const kAdmin = 'admin-secret';
const start = new Date(Date.now() - 3_600_000).toISOString();
const end = new Date(Date.now() + 60_000).toISOString();
const queries = ['vanish', 'vanish -keep', 'keep OR "second line"', 'level:error', 'n:>3 vanish', ''];

/** Event times rise with the index, as a log's do, within one histogram bucket: the histogram counts whole index blocks from the index alone, so an entry a removal left behind would be counted. */
const base = Date.now() - 1_800_000;
function line(topic: string, id: string, index: number, msg: string): object {
  return { topic, event_id: id, timestamp: new Date(base + index).toISOString(), source: 'svc', payload: { msg, level: index % 3 === 0 ? 'error' : 'info', n: index % 7 } };
}

async function indexed(url: string): Promise<void> {
  await pollUntil(async () => ((await stats(url)).shard_status.every((shard: any) => shard.search_pending === 0) ? true : undefined), 'the search index to catch up', { timeoutMs: 30_000 });
}

/** Every query's pages, histogram and top against the oracle over what the node serves now. */
async function assertExact(url: string, what: string): Promise<any[]> {
  const stored = await allEvents(url);
  for (const q of queries) {
    const expected = oracleMatches(stored, { q });
    assert.deepEqual((await searchAll(url, { q }, 'desc', 13)).events.map((event) => event.seq), ordered(expected, 'desc'), `${what}: /search q=${q}`);
    const histogram = await getJson(`${url}/search/histogram?${new URLSearchParams({ q, since: start, until: end, buckets: '7' })}`);
    assert.deepEqual(histogram.body.buckets.map((bucket: any) => bucket.count), oracleHistogram(oracleMatches(stored, { q, since: start, until: end }), start, end, 7), `${what}: histogram q=${q}`);
    const top = await getJson(`${url}/search/top?${new URLSearchParams({ q, field: 'topic' })}`);
    assert.deepEqual(Object.fromEntries(top.body.values.map((entry: any) => [JSON.stringify(entry.value), entry.count])), Object.fromEntries(oracleTop(expected, 'topic')), `${what}: top q=${q}`);
  }
  return stored;
}

async function publishLines(url: string, lines: readonly object[]): Promise<void> {
  for (let from = 0; from < lines.length; from += 500) assert.equal((await publish(url, lines.slice(from, from + 500) as any)).status, 200);
}

async function admin(server: TestServer, selector: unknown): Promise<any> {
  const answer = await fetch(`${server.url}/admin/delete`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${kAdmin}` }, body: JSON.stringify(selector) });
  assert.equal(answer.status, 200);
  return answer.json();
}

const mixed = (count: number, prefix = '') =>
  Array.from({ length: count }, (_, index) => line(index % 2 === 0 ? 'short.logs' : 'long.logs', `${prefix}${index}`, index, index % 5 === 0 ? 'keep this vanish' : index % 4 === 0 ? 'first line then second line' : 'will vanish soon'));

describe('search through the storage lifecycle', () => {
  test('expired events leave search, histogram and top', async () => {
    const server = await startServer({ args: ['--retention', 'short.*=1s,*=365d'] });
    try {
      await publishLines(server.url, mixed(400));
      await indexed(server.url);
      await pollUntil(async () => ((await stats(server.url)).expired === 200 ? true : undefined), 'the short topic to expire', { timeoutMs: 20_000 });
      const stored = await assertExact(server.url, 'after expiry');
      assert.ok(stored.every((event) => event.topic === 'long.logs'));
    } finally {
      await server.stop();
    }
  });

  test('deleted events leave the index; a forgotten identity stored again is found once, with its new text', async () => {
    const server = await startServer({ args: ['--admin-token', kAdmin] });
    try {
      await publishLines(server.url, mixed(300));
      await indexed(server.url);
      await admin(server, { topic: 'long.logs', event_ids: ['1', '3', '5', '7', '9', '11'] });
      await admin(server, { topic: 'short.logs', event_ids: ['0', '2'], forget: true });
      await assertExact(server.url, 'after deletion');
      await publishLines(server.url, [line('short.logs', '0', 0, 'reborn vanish'), line('long.logs', '1', 1, 'still deleted')]);
      await indexed(server.url);
      const stored = await assertExact(server.url, 'after a forgotten identity came back');
      const reborn = await searchAll(server.url, { q: 'reborn' }, 'desc', 10);
      assert.deepEqual(reborn.events.map((event) => event.event_id), ['0']);
      assert.ok(!stored.some((event) => event.topic === 'long.logs' && event.event_id === '1'), 'a kept identity stays a duplicate');
    } finally {
      await server.stop();
    }
  });

  test('a restored backup searches the same as its source', async () => {
    const server = await startServer({ shards: 3 });
    try {
      await publishLines(server.url, mixed(500));
      await indexed(server.url);
      const source = await assertExact(server.url, 'the source');
      const backupDir = join(await makeTempDir(), 'backup');
      assert.equal((await runServer(['backup', '--data-dir', server.dataDir, '--to', backupDir])).code, 0);
      const restoredDir = join(await makeTempDir(), 'restored');
      assert.equal((await runServer(['restore', '--from', backupDir, '--data-dir', restoredDir])).code, 0);
      const restored = await startServer({ dataDir: restoredDir, shards: 3 });
      try {
        assert.ok((await stats(restored.url)).shard_status.every((shard: any) => shard.search_pending === 0), 'the index came with the files');
        assert.deepEqual((await assertExact(restored.url, 'the restored copy')).map((event) => event.seq), source.map((event) => event.seq));
      } finally {
        await restored.stop();
      }
    } finally {
      await server.stop();
    }
  });

  test('a data dir from before search is exact at once, and indexed in the background', async () => {
    const first = await startServer({ shards: 2 });
    await publishLines(first.url, mixed(3000));
    await first.stop();
    // What a data dir written before search holds: the same format 3 tables, no index and no mark.
    for (const shard of [0, 1]) {
      const db = new Database(join(first.dataDir, `shard-00${shard}.db`));
      db.exec("DROP TABLE search_words; DROP TABLE search_blocks; DELETE FROM meta WHERE key = 'search_indexed_seq'");
      db.close();
    }
    const unindexed = await startServer({ dataDir: first.dataDir, shards: 2, args: ['--search-index', 'off'] });
    try {
      const shards = (await stats(unindexed.url)).shard_status;
      assert.equal(shards.reduce((sum: number, shard: any) => sum + shard.search_pending, 0), 3000, '/stats says how much is not indexed yet');
      await assertExact(unindexed.url, 'nothing indexed yet');
    } finally {
      await unindexed.stop();
    }
    const upgraded = await startServer({ dataDir: first.dataDir, shards: 2 });
    try {
      await assertExact(upgraded.url, 'while the index builds');
      await indexed(upgraded.url);
      await assertExact(upgraded.url, 'once indexed');
    } finally {
      await upgraded.stop();
    }
  });
});

describe('search in cluster mode', { skip: missingNatsServer() ?? false, timeout: 180_000 }, () => {
  test('every node answers every search exactly; each replica indexes what it applies', async () => {
    const cluster = await startAggregatorCluster({ nodes: 2, shards: 2 });
    try {
      const [a, b] = cluster.nodes.map((node) => node.url) as [string, string];
      await publishLines(a, mixed(300, 'a'));
      await publishLines(b, mixed(300, 'b'));
      await whenSettled([a, b]);
      await Promise.all([indexed(a), indexed(b)]);
      const onA = await assertExact(a, 'node a');
      const onB = await assertExact(b, 'node b');
      assert.equal(onA.length, 600);
      assert.deepEqual(onB.map((event) => event.seq), onA.map((event) => event.seq));
      for (const q of queries) assert.deepEqual((await searchAll(b, { q }, 'asc', 50)).events, (await searchAll(a, { q }, 'asc', 50)).events, `q=${q} on both nodes`);
    } finally {
      await cluster.stop();
    }
  });
});
