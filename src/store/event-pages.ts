import Database from 'better-sqlite3';
import type { PageQuery } from '../ingest/storage.js';
import { shardPath } from './data-dir.js';
import { eventColumns, type StoredEventRow } from './tables.js';

interface ShardStatements {
  readonly all: Database.Statement<[number, number, number], StoredEventRow>;
  readonly byTopic: Database.Statement<[string, number, number, number], StoredEventRow>;
}

/**
 * Read-only connections to every shard, merged by seq. WAL lets these read while the shard
 * writers commit; each shard query is one consistent snapshot, and the watermark makes the
 * union consistent too (everything at or below it is committed on every shard).
 */
export class EventPages {
  readonly #shards: ShardStatements[] = [];
  readonly #databases: Database.Database[] = [];

  constructor(dataDir: string, shardCount: number) {
    for (let shard = 0; shard < shardCount; shard++) {
      const db = new Database(shardPath(dataDir, shard), { readonly: true, fileMustExist: true, timeout: 5000 });
      this.#databases.push(db);
      this.#shards.push({
        all: db.prepare(`SELECT ${eventColumns} FROM events e JOIN topics t ON t.id = e.topic_id WHERE e.seq > ? AND e.seq <= ? ORDER BY e.seq LIMIT ?`),
        byTopic: db.prepare(`SELECT ${eventColumns} FROM topics t JOIN events e ON e.topic_id = t.id WHERE t.topic = ? AND e.seq > ? AND e.seq <= ? ORDER BY e.seq LIMIT ?`),
      });
    }
  }

  /** The first `limit` events after the cursor, across all shards, in seq order. */
  page(query: PageQuery): StoredEventRow[] {
    const perShard = this.#shards.map((statements) =>
      query.topic === null
        ? statements.all.all(query.afterSeq, query.maxSeq, query.limit)
        : statements.byTopic.all(query.topic, query.afterSeq, query.maxSeq, query.limit),
    );
    return mergeBySeq(perShard, query.limit);
  }

  close(): void {
    for (const db of this.#databases) db.close();
  }
}

/** k-way merge of seq-sorted lists; k is the shard count, small, so a linear scan of heads beats a heap. */
export function mergeBySeq(lists: readonly StoredEventRow[][], limit: number): StoredEventRow[] {
  const heads = new Array<number>(lists.length).fill(0);
  const merged: StoredEventRow[] = [];
  while (merged.length < limit) {
    let best = -1;
    let bestSeq = Infinity;
    for (let index = 0; index < lists.length; index++) {
      const row = lists[index]![heads[index]!];
      if (row && row.seq < bestSeq) {
        best = index;
        bestSeq = row.seq;
      }
    }
    if (best < 0) break;
    merged.push(lists[best]![heads[best]!++]!);
  }
  return merged;
}

/** Renders rows as the /events JSON shape; the payload is stored JSON text and goes out verbatim. */
export function renderEvents(rows: readonly StoredEventRow[]): string {
  const parts = rows.map(
    (row) =>
      `{"topic":${JSON.stringify(row.topic)},"event_id":${JSON.stringify(row.event_id)},` +
      `"timestamp":${JSON.stringify(row.timestamp)},"source":${JSON.stringify(row.source)},` +
      `"payload":${row.payload},"seq":${row.seq},"received_at":"${new Date(row.received_at).toISOString()}"}`,
  );
  return `[${parts.join(',')}]`;
}
