/** What the cluster tests compare between nodes once the load stopped. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { connect } from 'nats';
import { allEvents, getJson } from '../../harness/http-client.js';
import type { NatsCluster } from '../../harness/nats-cluster.js';
import { pollUntil, waitFor, WaitTimeoutError } from '../../harness/wait.js';

/** How many events a shard file holds (a replica a node let go holds none). */
export function eventRows(dataDir: string, shard: number): number {
  const db = new Database(join(dataDir, `shard-${String(shard).padStart(3, '0')}.db`), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT count(*) FROM events').pluck().get() as number;
  } finally {
    db.close();
  }
}

/** A digest per shard file of its rows, topics and counters: equal digests, equal replicas. */
export function replicaDigest(dataDir: string, shards: number): string[] {
  return Array.from({ length: shards }, (_, shard) => shardDigest(dataDir, shard));
}

function shardDigest(dataDir: string, shard: number): string {
  const db = new Database(join(dataDir, `shard-${String(shard).padStart(3, '0')}.db`), { readonly: true, fileMustExist: true });
  try {
    const hash = createHash('sha256');
    for (const row of db.prepare('SELECT e.seq, t.topic, e.event_id, e.timestamp, e.source, e.payload, e.received_at FROM events e JOIN topics t ON t.id = e.topic_id ORDER BY e.seq').raw().iterate()) hash.update(JSON.stringify(row));
    hash.update(JSON.stringify(db.prepare('SELECT topic, received, unique_count, duplicates, expired, deleted FROM topics ORDER BY topic').raw().all()));
    hash.update(JSON.stringify(db.prepare('SELECT received, unique_processed, duplicate_dropped, rejected, last_seq, expired, deleted FROM counters').raw().all()));
    // Retired identities with their retirement times (expiry and deletion), and the forget sweep's cursor.
    hash.update(JSON.stringify(db.prepare('SELECT t.topic, r.event_id, r.retired_at FROM retired r JOIN topics t ON t.id = r.topic_id ORDER BY t.topic, r.event_id').raw().all()));
    hash.update(JSON.stringify(db.prepare("SELECT key, value FROM meta WHERE key IN ('last_log_seq', 'log_clock', 'forget_cursor') ORDER BY key").raw().all()));
    return hash.digest('hex');
  } finally {
    db.close();
  }
}

/** A node as the placement checks see it. */
export interface HoldingNode {
  readonly url: string;
  readonly dataDir: string;
  /** The node's recent log lines, for a failure's message. */
  readonly server?: { tail(): string } | null;
}

/**
 * Waits until placement has settled: every shard held, caught up, by exactly min(`replicas`, nodes)
 * of `nodes` and held by no other (nothing still being let go). Returns each shard's holders, as
 * indexes into `nodes`.
 */
export async function whenPlaced(nodes: readonly HoldingNode[], shards: number, replicas: number, timeoutMs = 60_000): Promise<number[][]> {
  const want = Math.min(replicas, nodes.length);
  let holders: number[][] = [];
  await waitFor(
    async () => {
      const lists = await Promise.all(nodes.map(async (node) => ((await (await fetch(`${node.url}/health`)).json()) as { cluster: { replicas: { shard: number; caught_up: boolean }[] } }).cluster.replicas));
      holders = Array.from({ length: shards }, (_, shard) => lists.flatMap((list, index) => (list.some((replica) => replica.shard === shard && replica.caught_up) ? [index] : [])));
      return holders.every((held) => held.length === want) && lists.flat().length === shards * want;
    },
    () => `every shard on exactly ${want} caught-up nodes (holders: ${JSON.stringify(holders)})`,
    timeoutMs,
  );
  return holders;
}

/**
 * `assertSameReplicas` with `--replicas` below the node count: once placement settled, each
 * shard's copies on the nodes that hold it are equal, and every other node's file of it is empty
 * (a node empties what it let go).
 */
export async function assertHoldersAgree(nodes: readonly HoldingNode[], shards: number, replicas: number, timeoutMs = 60_000): Promise<void> {
  const holders = await whenPlaced(nodes, shards, replicas, timeoutMs);
  for (const [shard, held] of holders.entries()) await assertSameReplicas(held.map((index) => nodes[index]!.dataDir), shards, timeoutMs, shard);
  // A node lists a shard no more once it lets it go, and empties the file a moment later (after the frames it queued).
  const kept = (): string[] => holders.flatMap((held, shard) => nodes.flatMap((node, index) => (!held.includes(index) && eventRows(node.dataDir, shard) > 0 ? [`${node.url} shard ${shard}`] : [])));
  await waitFor(() => kept().length === 0, () => `every let-go shard file emptied (still holding rows: ${kept().join(', ')}; logs: ${nodes.map((node) => node.server?.tail()).join('\n')})`, timeoutMs);
}

interface NodeStats {
  received: number;
  unique_processed: number;
  duplicate_dropped: number;
  rejected: number;
  deleted: number;
  watermark_seq: number;
  [key: string]: unknown;
}

/** Between two readings of every node's /stats: equal twice in a row this far apart means nothing is still arriving. */
const kSettledPollMs = 200;

/** Waits (up to `timeoutMs`) until every node reports the same counters and watermark (or whatever `compared` picks); returns their /stats. */
export async function whenSettled(urls: readonly string[], timeoutMs = 30_000, compared: (stats: NodeStats) => unknown = (stats) => [stats.received, stats.unique_processed, stats.duplicate_dropped, stats.rejected, stats.deleted, stats.watermark_seq]): Promise<NodeStats[]> {
  let last = '';
  let shapes: string[] = [];
  try {
    return await pollUntil(
      async () => {
        const all = await Promise.all(urls.map(async (url) => (await (await fetch(`${url}/stats`)).json()) as NodeStats));
        shapes = all.map((stats) => JSON.stringify(compared(stats)));
        if (shapes.every((shape) => shape === shapes[0])) {
          // The same on every node twice in a row, a poll apart: nothing is still arriving.
          if (shapes[0] === last) return all;
          last = shapes[0]!;
        } else last = '';
        return undefined;
      },
      'the nodes to settle',
      { timeoutMs, intervalMs: kSettledPollMs },
    );
  } catch (error) {
    if (!(error instanceof WaitTimeoutError)) throw error;
    const health = await Promise.all(urls.map(async (url) => JSON.stringify(await (await fetch(`${url}/health`)).json())));
    throw new Error(`nodes did not settle within ${timeoutMs} ms: ${shapes.join(' vs ')}; health: ${health.join(' vs ')}`);
  }
}

/** The snapshot objects in the cluster's object store, by name, and each shard's pointer. */
export async function snapshotCatalogue(nats: NatsCluster, shards: number): Promise<{ objects: string[]; pointers: Map<number, { object: string; seq: number; epoch: number }> }> {
  const nc = await connect({ servers: nats.urls.split(',') });
  try {
    const js = nc.jetstream();
    const objects = (await (await js.views.os('agg_snapshots')).list()).filter((info) => !info.deleted).map((info) => info.name).sort();
    const meta = await js.views.kv('agg_meta', { bindOnly: true });
    const pointers = new Map<number, { object: string; seq: number; epoch: number }>();
    for (let shard = 0; shard < shards; shard++) {
      const entry = await meta.get(`snap.${shard}`);
      if (entry?.operation === 'PUT') pointers.set(shard, JSON.parse(new TextDecoder().decode(entry.value)));
    }
    return { objects, pointers };
  } finally {
    await nc.close();
  }
}

/** Each shard file's last applied log position, read from the file. */
function logPositions(dataDir: string, shards: number): number[] {
  return Array.from({ length: shards }, (_, shard) => {
    const db = new Database(join(dataDir, `shard-${String(shard).padStart(3, '0')}.db`), { readonly: true, fileMustExist: true });
    try {
      return (db.prepare("SELECT value FROM meta WHERE key = 'last_log_seq'").pluck().get() as number | undefined) ?? 0;
    } finally {
      db.close();
    }
  });
}

/** Between two readings of the replica files' log positions. */
const kReplicaPollMs = 100;

/**
 * Replica files compared where it means something: at the same log positions. Ticks and expire
 * commands can still move a log after the counters settled, so this reads until every data dir's
 * files stand at the same positions, before and after their digests are taken (a commit in between
 * shows as moved positions, and they are read again); then the digests must be equal. `only`:
 * compare that one shard's files.
 */
export async function assertSameReplicas(dataDirs: readonly string[], shards: number, timeoutMs = 30_000, only: number | null = null): Promise<void> {
  const same = (positions: number[][]): boolean => positions.every((position) => JSON.stringify(position) === JSON.stringify(positions[0]));
  const positionsOf = (dir: string): number[] => (only === null ? logPositions(dir, shards) : [logPositions(dir, shards)[only]!]);
  const digestsOf = (dir: string): string[] => (only === null ? replicaDigest(dir, shards) : [shardDigest(dir, only)]);
  let afterwards: number[][] = [];
  await waitFor(
    () => {
      const before = dataDirs.map(positionsOf);
      const digests = dataDirs.map(digestsOf);
      afterwards = dataDirs.map(positionsOf);
      if (!same(before) || JSON.stringify(before) !== JSON.stringify(afterwards)) return false;
      for (const [index, digest] of digests.entries()) assert.deepEqual(digest, digests[0], `the replicas${only === null ? '' : ` of shard ${only}`} in ${dataDirs[index]} and ${dataDirs[0]} differ at log positions ${JSON.stringify(before[0])}`);
      return true;
    },
    () => `the replicas${only === null ? '' : ` of shard ${only}`} to stand at the same log positions (last read: ${JSON.stringify(afterwards)})`,
    { timeoutMs, intervalMs: kReplicaPollMs },
  );
}

/**
 * Once the load stopped: every node settles on the same counters, then answers the same shared
 * /stats (the per-topic counts of a node that lacks a shard are read from the replicas, up to a
 * second behind) and lists the same events, seqs and order, every stored one. Returns the first
 * node's /stats and listing.
 */
export async function assertNodesAgree(urls: readonly string[]): Promise<{ settled: NodeStats; listing: StoredEvent[] }> {
  const settled = await whenSettled(urls, 60_000);
  let shared: unknown[] = [];
  await waitFor(
    async () => (shared = await Promise.all(urls.map(async (url) => sharedStats((await getJson(`${url}/stats`)).body)))).every((stats) => isDeepStrictEqual(stats, shared[0])),
    () => `the same /stats on every node: ${JSON.stringify(shared)}`,
    10_000,
  );
  const listings = await Promise.all(urls.map((url) => allEvents(url)));
  assert.equal(listings[0]!.length, settled[0]!.unique_processed, 'every stored event listed');
  for (const listing of listings.slice(1)) assert.deepEqual(listing, listings[0], 'every node lists the same events, seqs and order');
  return { settled: settled[0]!, listing: listings[0]! };
}

interface StoredEvent {
  readonly topic: string;
  readonly event_id: string;
  readonly [key: string]: unknown;
}

/** The part of /stats every node must agree on: the log's totals, not this process's uptime, protocols or queues. */
export function sharedStats(stats: Record<string, unknown>): Record<string, unknown> {
  const keys = ['received', 'unique_processed', 'duplicate_dropped', 'rejected', 'stored', 'expired', 'deleted', 'topics', 'shards', 'watermark_seq', 'cursor', 'topic_counts', 'topic_storage'];
  return Object.fromEntries(keys.map((key) => [key, stats[key]]));
}
