/**
 * A page of /search across every shard. Each shard scans its part of the range in the page's
 * order until it has `limit` matches or its row bound (search-scan.ts); the page then holds the
 * matches every shard has examined up to (the frontier), so the cursor it returns continues where
 * the slowest shard stopped: no match is skipped or repeated, whatever the order or the bound.
 */
import type { SearchPageQuery } from '../search/request.js';
import { CompiledFilter, scanShard, type ScanRange } from './search-scan.js';
import type { ShardReaders } from './shard-readers.js';
import type { StoredEventRow } from './tables.js';

export interface SearchPageRows {
  /** In the page's order. */
  readonly rows: StoredEventRow[];
  /** The cursor's seq for the next page; null: the query is exhausted in this order. */
  readonly next: number | null;
  readonly partial: boolean;
}

export function searchPage(readers: ShardReaders, query: SearchPageQuery): SearchPageRows {
  const desc = query.order === 'desc';
  const range: ScanRange = desc
    ? { order: 'desc', lo: 0, hi: Math.min(query.maxSeq, query.after === null ? query.maxSeq : query.after - 1) }
    : { order: 'asc', lo: query.after ?? 0, hi: query.maxSeq };
  const filter = new CompiledFilter(query);
  const deadline = performance.now() + query.timeoutMs;
  const found: StoredEventRow[] = [];
  // The frontier: the furthest point every unfinished shard examined to.
  let frontier = desc ? range.lo + 1 : range.hi;
  let exhausted = true;
  for (let shard = 0; shard < readers.count; shard++) {
    if (range.lo >= range.hi) break;
    const result = scanShard(readers, shard, filter, range, { matches: query.limit, rows: query.maxRows, deadline }, (row) => found.push(row));
    if (result.exhausted) continue;
    exhausted = false;
    frontier = desc ? Math.max(frontier, result.reached) : Math.min(frontier, result.reached);
  }
  const inReach = found.filter((row) => (desc ? row.seq >= frontier : row.seq <= frontier));
  const rows = inReach.sort((a, b) => (desc ? b.seq - a.seq : a.seq - b.seq)).slice(0, query.limit);
  if (rows.length === query.limit) return { rows, next: rows[rows.length - 1]!.seq, partial: false };
  if (!exhausted) return { rows, next: frontier, partial: true };
  // Exhausted: desc has nothing older; asc may find newer events later, from the watermark on.
  return { rows, next: !desc && rows.length > 0 ? range.hi : null, partial: false };
}
