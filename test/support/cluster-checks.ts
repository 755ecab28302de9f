/** What the cluster tests compare between nodes once the load stopped. */
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { join } from 'node:path';

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
      hash.update(JSON.stringify(db.prepare("SELECT key, value FROM meta WHERE key IN ('last_log_seq', 'log_clock') ORDER BY key").raw().all()));
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

/** Waits (up to `timeoutMs`) until every node reports the same counters and watermark; returns their /stats. */
export async function whenSettled(urls: readonly string[], timeoutMs = 30_000): Promise<NodeStats[]> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const all = await Promise.all(urls.map(async (url) => (await (await fetch(`${url}/stats`)).json()) as NodeStats));
    const shapes = all.map((stats) => JSON.stringify([stats.received, stats.unique_processed, stats.duplicate_dropped, stats.rejected, stats.deleted, stats.watermark_seq]));
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

/** The part of /stats every node must agree on: the log's totals, not this process's uptime, protocols or queues. */
export function sharedStats(stats: Record<string, unknown>): Record<string, unknown> {
  const keys = ['received', 'unique_processed', 'duplicate_dropped', 'rejected', 'stored', 'expired', 'deleted', 'topics', 'shards', 'watermark_seq', 'cursor', 'topic_counts', 'topic_storage'];
  return Object.fromEntries(keys.map((key) => [key, stats[key]]));
}
