/** What the cluster tests compare between nodes once the load stopped. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { connect } from 'nats';
import type { NatsCluster } from './nats-cluster.js';

/** A digest per shard file of its rows, topics and counters: equal digests, equal replicas. */
export function replicaDigest(dataDir: string, shards: number): string[] {
  const digests: string[] = [];
  for (let shard = 0; shard < shards; shard++) {
    const db = new Database(join(dataDir, `shard-${String(shard).padStart(3, '0')}.db`), { readonly: true, fileMustExist: true });
    try {
      const hash = createHash('sha256');
      for (const row of db.prepare('SELECT e.seq, t.topic, e.event_id, e.timestamp, e.source, e.payload, e.received_at FROM events e JOIN topics t ON t.id = e.topic_id ORDER BY e.seq').raw().iterate()) hash.update(JSON.stringify(row));
      hash.update(JSON.stringify(db.prepare('SELECT topic, received, unique_count, duplicates, expired, deleted FROM topics ORDER BY topic').raw().all()));
      hash.update(JSON.stringify(db.prepare('SELECT received, unique_processed, duplicate_dropped, rejected, last_seq, expired, deleted FROM counters').raw().all()));
      // Retired identities with their retirement times (expiry and deletion), and the forget sweep's cursor.
      hash.update(JSON.stringify(db.prepare('SELECT t.topic, r.event_id, r.retired_at FROM retired r JOIN topics t ON t.id = r.topic_id ORDER BY t.topic, r.event_id').raw().all()));
      hash.update(JSON.stringify(db.prepare("SELECT key, value FROM meta WHERE key IN ('last_log_seq', 'log_clock', 'forget_cursor') ORDER BY key").raw().all()));
      digests.push(hash.digest('hex'));
    } finally {
      db.close();
    }
  }
  return digests;
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

/** Waits (up to `timeoutMs`) until every node reports the same counters and watermark (or whatever `compared` picks); returns their /stats. */
export async function whenSettled(urls: readonly string[], timeoutMs = 30_000, compared: (stats: NodeStats) => unknown = (stats) => [stats.received, stats.unique_processed, stats.duplicate_dropped, stats.rejected, stats.deleted, stats.watermark_seq]): Promise<NodeStats[]> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const all = await Promise.all(urls.map(async (url) => (await (await fetch(`${url}/stats`)).json()) as NodeStats));
    const shapes = all.map((stats) => JSON.stringify(compared(stats)));
    if (shapes.every((shape) => shape === shapes[0])) {
      // The same on every node twice in a row, a poll apart: nothing is still arriving.
      if (shapes[0] === last) return all;
      last = shapes[0]!;
    } else last = '';
    if (Date.now() > deadline) {
      const health = await Promise.all(urls.map(async (url) => JSON.stringify(await (await fetch(`${url}/health`)).json())));
      throw new Error(`nodes did not settle within ${timeoutMs} ms: ${shapes.join(' vs ')}; health: ${health.join(' vs ')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A stream's first and last positions, from the first NATS node whose monitoring endpoint knows it. */
export async function logExtent(nats: NatsCluster, stream: string): Promise<{ first: number; last: number; messages: number; bytes: number }> {
  for (const node of nats.nodes) {
    try {
      const jsz = (await (await fetch(`${node.monitorUrl}/jsz?streams=true&accounts=true`)).json()) as { account_details?: { stream_detail?: { name: string; state: { first_seq: number; last_seq: number; messages: number; bytes: number } }[] }[] };
      for (const account of jsz.account_details ?? []) {
        for (const detail of account.stream_detail ?? []) if (detail.name === stream) return { first: detail.state.first_seq, last: detail.state.last_seq, messages: detail.state.messages, bytes: detail.state.bytes };
      }
    } catch {
      // a node that is down or paused: ask the next
    }
  }
  throw new Error(`no NATS node knows stream ${stream}`);
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

/**
 * Replica files compared where it means something: at the same log positions. Ticks and expire
 * commands can still move a log after the counters settled, so this reads until every data dir's
 * files stand at the same positions, before and after their digests are taken (a commit in between
 * shows as moved positions, and they are read again); then the digests must be equal.
 */
export async function assertSameReplicas(dataDirs: readonly string[], shards: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const same = (positions: number[][]): boolean => positions.every((position) => JSON.stringify(position) === JSON.stringify(positions[0]));
  for (;;) {
    const before = dataDirs.map((dir) => logPositions(dir, shards));
    const digests = dataDirs.map((dir) => replicaDigest(dir, shards));
    const afterwards = dataDirs.map((dir) => logPositions(dir, shards));
    if (same(before) && JSON.stringify(before) === JSON.stringify(afterwards)) {
      for (const [index, digest] of digests.entries()) assert.deepEqual(digest, digests[0], `the replicas in ${dataDirs[index]} and ${dataDirs[0]} differ at log positions ${JSON.stringify(before[0])}`);
      return;
    }
    if (Date.now() > deadline) throw new Error(`the replicas never stood at the same log positions: ${JSON.stringify(afterwards)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The part of /stats every node must agree on: the log's totals, not this process's uptime, protocols or queues. */
export function sharedStats(stats: Record<string, unknown>): Record<string, unknown> {
  const keys = ['received', 'unique_processed', 'duplicate_dropped', 'rejected', 'stored', 'expired', 'deleted', 'topics', 'shards', 'watermark_seq', 'cursor', 'topic_counts', 'topic_storage'];
  return Object.fromEntries(keys.map((key) => [key, stats[key]]));
}
