/**
 * /search/top for one shard, and the merge of the shards' parts. Exact: the events counted are
 * those the matcher accepts, as in /search. A query the word index answers exactly, over every
 * topic and all time, is counted from the index's candidates with SQLite reading just each
 * match's value (no row built in JS); anything else, and the tail not indexed yet, goes through
 * the scan every search shares (search-scan.ts). Both bounded by rows and time (`partial`).
 */
import type { SearchTop } from '../events/responses.js';
import type { TopQuery } from '../search/request.js';
import type { Budget } from './search-counts.js';
import { CompiledFilter, indexedThrough, scanShard } from './search-scan.js';
import { jsonScalar, kMaxDistinct, payloadReader, payloadValue, valueOf, type Scalar } from './search-values.js';
import type { ShardReaders } from './shard-readers.js';
import { payloadPathSql } from './tables.js';

const kChunk = 4096;

export interface TopPart {
  /** Per value (its JSON text), the events whose value it is. */
  readonly values: [json: string, count: number][];
  readonly total: number;
  readonly partial: boolean;
}

/** Counts per value, keyed by JSON text so "7" and 7 stay apart. */
class ValueCounts {
  readonly values = new Map<string, number>();
  total = 0;
  overflow = false;

  add(value: Scalar | undefined): void {
    this.total++;
    if (value === undefined) return;
    const key = typeof value === 'string' ? `"${value}"` : String(value);
    const seen = this.values.get(key);
    if (seen !== undefined) this.values.set(key, seen + 1);
    else if (this.values.size < kMaxDistinct) this.values.set(key, 1);
    else this.overflow = true;
  }
}

export function topOfShard(readers: ShardReaders, shard: number, query: TopQuery, budget: Budget): TopPart {
  const counts = new ValueCounts();
  const filter = new CompiledFilter(query, query.field.kind === 'payload' ? query.field.path : null);
  const payloadOf = payloadReader(readers, shard);
  const byIndex = (query.query === null || filter.plan?.exact === true) && query.topic === null && query.sinceMs === null && query.untilMs === null;
  const exhausted = readers.snapshot(shard, () => {
    let from = 0;
    let rows = 0;
    if (byIndex) {
      const mark = Math.min(indexedThrough(readers, shard), query.maxSeq);
      const read = countValues(readers, shard, query, filter.plan?.match ?? null, mark, budget, counts, payloadOf);
      if (!read.exhausted) return false;
      [from, rows] = [mark, read.rows];
    }
    const limits = { matches: Infinity, rows: Math.max(0, budget.rows - rows), deadline: budget.deadline };
    return scanShard(readers, shard, filter, { order: 'asc', lo: from, hi: query.maxSeq }, limits, (row) => counts.add(valueOf(query.field, row, payloadOf))).exhausted;
  });
  return { values: [...counts.values].map(([key, count]) => [jsonKey(key), count]), total: counts.total, partial: counts.overflow || !exhausted };
}

/** Keys are JSON for numbers and booleans already; a string key is quoted raw, made JSON here once per distinct value. */
function jsonKey(key: string): string {
  return key.startsWith('"') ? JSON.stringify(key.slice(1, -1)) : key;
}

/** Every match in (0, mark]: the index's candidates (or every row, for the empty query), each match's value read by SQLite. */
function countValues(
  readers: ShardReaders,
  shard: number,
  query: TopQuery,
  match: string | null,
  mark: number,
  budget: Budget,
  counts: ValueCounts,
  payloadOf: (seq: number) => string,
): { exhausted: boolean; rows: number } {
  const { field } = query;
  // `->` gives the value's JSON text in one parse of the payload (json_extract and json_type would be two).
  const value = field.kind === 'payload' ? `e.payload -> ${payloadPathSql(field.path)}` : field.kind === 'source' ? 'e.source' : 't.topic';
  const topics = field.kind === 'topic' ? ' JOIN topics t ON t.id = e.topic_id' : '';
  const sql =
    match === null
      ? `SELECT e.seq, ${value} FROM events e${topics} WHERE e.seq > ? AND e.seq <= ? ORDER BY e.seq LIMIT ?`
      : `SELECT e.seq, ${value} FROM (SELECT rowid AS seq FROM search_words WHERE search_words MATCH ? AND rowid > ? AND rowid <= ? ORDER BY rowid LIMIT ?) c JOIN events e ON e.seq = c.seq${topics}`;
  const statement = readers.prepare(shard, sql).raw();
  let rows = 0;
  let after = 0;
  for (;;) {
    const size = Math.min(kChunk, budget.rows - rows);
    const bounds = [BigInt(after), BigInt(mark), size];
    const found = statement.all(...(match === null ? bounds : [match, ...bounds])) as [number, string | null][];
    for (const [seq, text] of found) {
      if (field.kind !== 'payload') counts.add(text!);
      else {
        const settled = jsonScalar(text);
        counts.add(settled !== null ? settled : payloadValue(payloadOf(seq), field.path));
      }
      after = seq;
    }
    rows += found.length;
    if (found.length < size) return { exhausted: true, rows };
    if (rows >= budget.rows || performance.now() > budget.deadline) return { exhausted: false, rows };
  }
}

export function mergeTop(field: string, limit: number, parts: readonly TopPart[]): SearchTop {
  const values = new Map<string, number>();
  for (const part of parts) for (const [key, count] of part.values) values.set(key, (values.get(key) ?? 0) + count);
  const total = parts.reduce((sum, part) => sum + part.total, 0);
  const top = [...values].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, limit);
  const listed = top.reduce((sum, [, count]) => sum + count, 0);
  return { field, total, partial: parts.some((part) => part.partial), values: top.map(([key, count]) => ({ value: JSON.parse(key) as Scalar, count })), other: total - listed };
}
