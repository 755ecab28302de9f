/**
 * The brute-force baseline of bench/search.ts: the same questions as the service's /search,
 * /search/histogram and /search/top, answered by scanning a data dir's shard files (opened
 * read-only in the bench process) with SQL only: `instr(lower(payload), word)` for a word,
 * json_extract for a field, the event timestamp's epoch ms for a bucket, GROUP BY for a top.
 * One connection per shard, the shards one after another on this thread (the service's histogram
 * and top count the shards on parallel reader threads: a ratio includes that parallelism).
 * A substring is not a word: the bench picks words whose substring count is exact, and compares.
 */
import Database from 'better-sqlite3';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { eventColumns, type StoredEventRow } from '../../src/store/tables.js';

export interface TopAnswer {
  readonly total: number;
  /** The 10 largest, by count then value. */
  readonly values: readonly (readonly [value: string, count: number])[];
}

/** The shard files of a data dir (shard-NNN.db), sorted. */
export function shardFiles(dataDir: string): string[] {
  return readdirSync(dataDir).filter((name) => /^shard-\d+\.db$/.test(name)).sort().map((name) => join(dataDir, name));
}

const contains = 'instr(lower(e.payload), ?) > 0';
const pageSql = (where: string): string => `SELECT ${eventColumns} FROM events e JOIN topics t ON t.id = e.topic_id WHERE ${where} ORDER BY e.seq DESC LIMIT ?`;

export class BruteForce {
  readonly #dbs: Database.Database[];

  constructor(dataDir: string) {
    this.#dbs = shardFiles(dataDir).map((path) => new Database(path, { readonly: true, fileMustExist: true }));
  }

  /** The newest `limit` events holding every word (substring), optionally with payload.level = `level`: each shard's newest, merged by seq. */
  page(words: readonly string[], limit: number, level: string | null = null): StoredEventRow[] {
    const where = [...words.map(() => contains), ...(level === null ? [] : ["json_extract(e.payload, '$.level') = ?"])].join(' AND ');
    const rows = this.#dbs.flatMap((db) => db.prepare(pageSql(where)).all(...words, ...(level === null ? [] : [level]), limit) as StoredEventRow[]);
    return rows.sort((a, b) => b.seq - a.seq).slice(0, limit);
  }

  /** Events holding `word`, counted in `buckets` equal steps of [sinceMs, untilMs) by their timestamp (as the service buckets them). */
  histogram(word: string, sinceMs: number, untilMs: number, buckets: number): number[] {
    const step = (untilMs - sinceMs) / buckets;
    const counts = new Array<number>(buckets).fill(0);
    const sql = `
      SELECT min(?, CAST((ms - ?) / ? AS INTEGER)) AS bucket, count(*) FROM (
        SELECT CAST(round(unixepoch(e.timestamp, 'subsec') * 1000) AS INTEGER) AS ms FROM events e WHERE ${contains}
      ) WHERE ms >= ? AND ms < ? GROUP BY bucket`;
    for (const db of this.#dbs) {
      for (const [bucket, count] of db.prepare(sql).raw().all(buckets - 1, sinceMs, step, word, sinceMs, untilMs) as [number, number][]) counts[bucket]! += count;
    }
    return counts;
  }

  /** The 10 commonest values of payload.<field> among the events holding `word`, and how many events hold it. */
  top(word: string, field: string): TopAnswer {
    const merged = new Map<string, number>();
    let total = 0;
    const sql = `SELECT json_extract(e.payload, '$.${field}') AS value, count(*) FROM events e WHERE ${contains} GROUP BY value`;
    for (const db of this.#dbs) {
      for (const [value, count] of db.prepare(sql).raw().all(word) as [string | null, number][]) {
        total += count;
        if (value !== null) merged.set(value, (merged.get(value) ?? 0) + count);
      }
    }
    const values = [...merged].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 10);
    return { total, values };
  }

  /** Pages of the word index's tables (FTS5 and time blocks), bytes, over every shard file. */
  indexBytes(): number {
    let bytes = 0;
    for (const db of this.#dbs) {
      const names = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name LIKE 'search%'").pluck().all() as string[];
      const size = db.prepare('SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = ? AND aggregate = TRUE').pluck();
      for (const name of names) bytes += size.get(name) as number;
    }
    return bytes;
  }

  close(): void {
    for (const db of this.#dbs) db.close();
  }
}
