/**
 * The one way search reads a shard: the events of a seq range that match a filter, in seq order,
 * examining a bounded number of rows. Below the shard's indexed seq, candidates come from the word
 * index when the query has words it can look up (search/index-plan.ts); above it, and for queries
 * the index cannot narrow, from the rows themselves. Every candidate the index does not vouch for
 * (a plan that is only a superset, or a row from the unindexed tail) is decided by the brute-force
 * matcher (search/match.ts), so the index can make a search faster, never different.
 */
import { eventTimeMs } from '../events/time-bound.js';
import { planIndex, type IndexPlan } from '../search/index-plan.js';
import { globMatches } from '../search/glob.js';
import { matchesQuery } from '../search/match.js';
import type { SearchFilter } from '../search/request.js';
import type { SearchQuery } from '../search/query.js';
import { kIndexedKey } from './search-index.js';
import type { ShardReaders } from './shard-readers.js';
import { eventColumns as kEventColumns, payloadPathSql, type StoredEventRow } from './tables.js';

/** What a count by a payload value reads when the matcher has nothing to decide: no payload (an `ExtractedRow` without one). */
const kNarrowColumns = 'e.seq, t.topic, e.timestamp, e.source';

/** A row with a payload path's value as SQLite extracted it (its payload absent when read narrow): the value's JSON text (`payload -> path`), SQL NULL when the path (through objects only) reaches nothing. */
export interface ExtractedRow extends StoredEventRow {
  readonly value?: string | null;
}

/** Seqs `lo` (exclusive) to `hi` (inclusive), read upward (asc) or downward (desc). */
export interface ScanRange {
  readonly order: 'asc' | 'desc';
  readonly lo: number;
  readonly hi: number;
}

export interface ScanLimits {
  /** Stop once this many matched. */
  readonly matches: number;
  /** Stop once this many rows were examined. */
  readonly rows: number;
  /** performance.now() past which the scan stops. */
  readonly deadline: number;
}

export interface ScanResult {
  /** asc: every seq in (lo, reached] was examined; desc: every seq in [reached, hi]. */
  readonly reached: number;
  /** The whole range was examined. */
  readonly exhausted: boolean;
  readonly rows: number;
}

/** A filter made ready for scanning: its index plan found once. */
export class CompiledFilter {
  readonly query: SearchQuery;
  readonly plan: IndexPlan | null;
  /** An exact topic, which SQL narrows by its index; a glob is checked per row. */
  readonly exactTopic: string | null;
  readonly #glob: string | null;
  readonly #sinceMs: number | null;
  readonly #untilMs: number | null;
  /** A payload path whose value each row also carries, extracted by SQLite (`ExtractedRow`): top and `by` count by it without parsing the payload in JS. */
  readonly valuePath: readonly string[] | null;

  constructor(filter: SearchFilter, valuePath: readonly string[] | null = null) {
    this.valuePath = valuePath;
    this.query = filter.query;
    this.plan = planIndex(filter.query);
    const glob = filter.topic?.includes('*') ?? false;
    this.exactTopic = glob ? null : filter.topic;
    this.#glob = glob ? filter.topic : null;
    this.#sinceMs = filter.sinceMs;
    this.#untilMs = filter.untilMs;
  }

  /** `indexed`: the row came from the index's candidates, which are the query's matches when the plan is exact (index-plan.ts proves it; its property test holds it to the matcher). */
  matches(row: StoredEventRow, indexed: boolean): boolean {
    if (this.exactTopic !== null && row.topic !== this.exactTopic) return false;
    if (this.#glob !== null && !globMatches(this.#glob, row.topic)) return false;
    if (this.#sinceMs !== null || this.#untilMs !== null) {
      const time = eventTimeMs(row.timestamp);
      if (!(time >= (this.#sinceMs ?? -Infinity) && time < (this.#untilMs ?? Infinity))) return false;
    }
    if (this.query === null || (indexed && this.plan!.exact)) return true;
    return matchesQuery(this.query, { topic: row.topic, event_id: row.event_id, source: row.source, payload: JSON.parse(row.payload) });
  }
}

const kFirstChunk = 64;
const kMaxChunk = 4096;

/** The highest seq of the shard in the word index (0: none). */
export function indexedThrough(readers: ShardReaders, shard: number): number {
  return (readers.prepare(shard, 'SELECT value FROM meta WHERE key = ?').pluck().get(kIndexedKey) as number | undefined) ?? 0;
}

/** Scans one shard inside one read transaction; `onMatch` sees each match in order. */
export function scanShard(readers: ShardReaders, shard: number, filter: CompiledFilter, range: ScanRange, limits: ScanLimits, onMatch: (row: StoredEventRow) => void): ScanResult {
  return readers.snapshot(shard, () => {
    const mark = indexedThrough(readers, shard);
    const indexed = { lo: range.lo, hi: Math.min(range.hi, mark), useIndex: filter.plan !== null };
    const tail = { lo: Math.max(range.lo, mark), hi: range.hi, useIndex: false };
    const segments = range.order === 'asc' ? [indexed, tail] : [tail, indexed];
    const desc = range.order === 'desc';
    let reached = desc ? range.hi + 1 : range.lo;
    let rows = 0;
    let matched = 0;
    let chunk = Math.min(kMaxChunk, Math.max(kFirstChunk, 2 * limits.matches));
    for (const segment of segments) {
      if (segment.lo >= segment.hi) continue;
      // The index's candidates are all topics' (the topic is checked per row); rows of an exact topic come from its own index.
      const byTopic = !segment.useIndex && filter.exactTopic !== null;
      // Counting by a payload value needs no payload when nothing is left for the matcher: SQLite extracts the value, and the row stays narrow.
      const narrow = filter.valuePath !== null && (filter.query === null || (segment.useIndex && filter.plan!.exact));
      const statement = readers.prepare(shard, chunkSql(segment.useIndex, desc, byTopic, filter.valuePath === null ? null : { path: filter.valuePath, narrow }));
      // The next chunk starts past `position`: asc above it, desc below it.
      let position = desc ? segment.hi + 1 : segment.lo;
      for (;;) {
        const size = Math.min(chunk, limits.rows - rows);
        const [lo, hi] = desc ? [segment.lo, position - 1] : [position, segment.hi];
        const bounds = [BigInt(lo), BigInt(hi), size];
        const args = segment.useIndex ? [filter.plan!.match, ...bounds] : byTopic ? [filter.exactTopic, ...bounds] : bounds;
        const found = statement.all(...args) as StoredEventRow[];
        for (const row of found) {
          rows++;
          position = row.seq;
          reached = row.seq;
          if (filter.matches(row, segment.useIndex)) {
            onMatch(row);
            if (++matched >= limits.matches) return { reached, exhausted: false, rows };
          }
        }
        if (found.length < size) break; // the segment is done
        if (rows >= limits.rows || performance.now() > limits.deadline) return { reached, exhausted: false, rows };
        chunk = Math.min(kMaxChunk, chunk * 2);
      }
      reached = desc ? segment.lo + 1 : segment.hi;
    }
    return { reached, exhausted: true, rows };
  });
}

/**
 * One chunk: up to `size` rows of the range (lo, hi], from the index's candidates or from the rows.
 * FTS5 narrows to a rowid range only when its bounds are bound as integers (BigInt): a JS number
 * binds as a REAL, and FTS5 then walks the whole doclist.
 */
function chunkSql(useIndex: boolean, desc: boolean, byTopic: boolean, value: { path: readonly string[]; narrow: boolean } | null): string {
  const direction = desc ? 'DESC' : 'ASC';
  const extracted = value === null ? '' : `, e.payload -> ${payloadPathSql(value.path)} AS value`;
  const eventColumns = `${value?.narrow ? kNarrowColumns : kEventColumns}${extracted}`;
  if (useIndex) {
    return (
      `SELECT ${eventColumns} FROM (SELECT rowid AS seq FROM search_words WHERE search_words MATCH ? AND rowid > ? AND rowid <= ? ORDER BY rowid ${direction} LIMIT ?) c ` +
      `JOIN events e ON e.seq = c.seq JOIN topics t ON t.id = e.topic_id ORDER BY e.seq ${direction}`
    );
  }
  // An exact topic walks its own (topic_id, seq) index, so other topics' rows are never read.
  return byTopic
    ? `SELECT ${eventColumns} FROM topics t JOIN events e ON e.topic_id = t.id WHERE t.topic = ? AND e.seq > ? AND e.seq <= ? ORDER BY e.seq ${direction} LIMIT ?`
    : `SELECT ${eventColumns} FROM events e JOIN topics t ON t.id = e.topic_id WHERE e.seq > ? AND e.seq <= ? ORDER BY e.seq ${direction} LIMIT ?`;
}
