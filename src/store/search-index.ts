/**
 * The word index of one shard, written by the shard's writer behind its commits: derived data in
 * the shard file itself, so every path that copies or replaces the file (backup, restore, cluster
 * snapshots) carries the index with the rows it describes, and every removal takes the event out
 * of both in one transaction (`removed`, called by `Removal`).
 *
 * - `search_words`: FTS5, contentless with deletes, rowid = seq, the text `indexText` gives.
 * - `search_blocks`: per block of 2^10 seqs, the earliest and latest event time indexed in it; a
 *   histogram counts a block inside one bucket from the index alone (store/search-counts.ts).
 * - meta `search_indexed_seq`: every event at or below it is indexed; readers scan above it.
 *
 * Seqs reach a shard in increasing order (the ring is FIFO, the log is ordered), so "indexed
 * through a seq" is one number. A file from before search has none of this: the tables are made at
 * open and the whole file is indexed in the background, searches exact meanwhile.
 */
import type Database from 'better-sqlite3';
import { eventTimeMs } from '../events/time-bound.js';
import { indexText } from '../search/index-plan.js';

export const searchSchema = `
  CREATE VIRTUAL TABLE IF NOT EXISTS search_words USING fts5(words, content = '', contentless_delete = 1, tokenize = 'ascii');
  CREATE TABLE IF NOT EXISTS search_blocks (
    block  INTEGER PRIMARY KEY, -- seq >> kBlockShift
    min_ms INTEGER NOT NULL,
    max_ms INTEGER NOT NULL
  ) STRICT;
`;

export const kBlockShift = 10;
export const kIndexedKey = 'search_indexed_seq';

export interface IndexSlice {
  readonly indexed: number;
  /** Events committed and not yet indexed after the slice. */
  readonly pending: number;
}

export class SearchIndex {
  readonly #enabled: boolean;
  readonly #rows: Database.Statement<[number, number]>;
  readonly #insert: Database.Statement<[number, string]>;
  readonly #delete: Database.Statement<[number]>;
  readonly #block: Database.Statement<[number, number, number]>;
  readonly #saveThrough: Database.Statement<[number]>;
  readonly #slice: (budget: number) => number;
  readonly #countAbove: Database.Statement<[number], number>;
  #through: number;
  #pending: number;

  /** `enabled` false (`--search-index off`): nothing is indexed, but removals still leave the index, so turning it on later is exact. */
  constructor(db: Database.Database, enabled: boolean) {
    db.exec(searchSchema);
    this.#enabled = enabled;
    this.#through = (db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(kIndexedKey) as number | undefined) ?? 0;
    this.#countAbove = db.prepare<[number], number>('SELECT count(*) FROM events WHERE seq > ?').pluck();
    this.#pending = this.#countAbove.get(this.#through) ?? 0;
    this.#rows = db.prepare('SELECT seq, timestamp, source, payload FROM events WHERE seq > ? ORDER BY seq LIMIT ?');
    this.#insert = db.prepare('INSERT INTO search_words (rowid, words) VALUES (?, ?)');
    this.#delete = db.prepare('DELETE FROM search_words WHERE rowid = ?');
    this.#block = db.prepare(
      'INSERT INTO search_blocks (block, min_ms, max_ms) VALUES (?, ?, ?) ON CONFLICT (block) DO UPDATE SET min_ms = min(min_ms, excluded.min_ms), max_ms = max(max_ms, excluded.max_ms)',
    );
    this.#saveThrough = db.prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES ('${kIndexedKey}', ?)`);
    this.#slice = db.transaction((budget: number) => this.#index(budget)).immediate;
  }

  /** Whether a slice has work: indexing is on and events wait. */
  get wanted(): boolean {
    return this.#enabled && this.#pending > 0;
  }

  get pending(): number {
    return this.#pending;
  }

  /** A commit stored `inserted` new events (all above the indexed seq). */
  committed(inserted: number): void {
    this.#pending += inserted;
  }

  /** Inside the removal's transaction: the event leaves the index with its row. */
  removed(seq: number): void {
    if (seq <= this.#through) this.#delete.run(seq);
    else this.#pending--;
  }

  /** Indexes up to `budget` of the oldest unindexed events in one transaction. */
  slice(budget: number): IndexSlice {
    const before = this.#through;
    try {
      const indexed = this.#slice(budget);
      this.#pending = Math.max(0, this.#pending - indexed);
      return { indexed, pending: this.#pending };
    } catch (error) {
      this.#through = before;
      throw error;
    }
  }

  #index(budget: number): number {
    const rows = this.#rows.all(this.#through, budget) as { seq: number; timestamp: string; source: string; payload: string }[];
    const blocks = new Map<number, [min: number, max: number]>();
    for (const row of rows) {
      this.#insert.run(row.seq, indexText(row.source, JSON.parse(row.payload)));
      // A time Date.parse cannot read falls in no range: its block spans everything, so a histogram reads its rows.
      const time = eventTimeMs(row.timestamp);
      const [low, high] = Number.isNaN(time) ? [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER] : [time, time];
      const block = Math.floor(row.seq / 2 ** kBlockShift);
      const span = blocks.get(block);
      if (!span) blocks.set(block, [low, high]);
      else {
        if (low < span[0]) span[0] = low;
        if (high > span[1]) span[1] = high;
      }
    }
    for (const [block, [min, max]] of blocks) this.#block.run(block, min, max);
    if (rows.length > 0) {
      this.#through = rows[rows.length - 1]!.seq;
      this.#saveThrough.run(this.#through);
    }
    // Fewer rows than asked: everything committed is indexed (removals may have made the count drift).
    if (rows.length < budget) this.#pending = rows.length;
    return rows.length;
  }
}
