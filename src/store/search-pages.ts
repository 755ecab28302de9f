/**
 * A page of /search across every shard. Each shard scans its part of the range in the page's
 * order until it has `limit` matches or its row bound (search-scan.ts); the merge (read-parts.ts)
 * then keeps the matches every shard has examined up to (the frontier), so the cursor it returns
 * continues where the slowest shard stopped: no match is skipped or repeated, whatever the order
 * or the bound.
 */
import type { SearchPageQuery } from '../search/request.js';
import { mergeSearchParts, searchRange, type SearchPageRows, type SearchPart } from './read-parts.js';
import { CompiledFilter, scanShard } from './search-scan.js';
import type { ShardReaders } from './shard-readers.js';
import type { StoredEventRow } from './tables.js';


export function searchPage(readers: ShardReaders, query: SearchPageQuery): SearchPageRows {
  // One deadline for all the shards, read one after the other in this thread.
  const deadline = performance.now() + query.timeoutMs;
  const parts = Array.from({ length: readers.count }, (_, shard) => searchPart(readers, shard, query, deadline));
  return mergeSearchParts(parts, query);
}

/** One shard's share of a page: up to `limit` matches, examining at most `maxRows` rows, until `deadline` (by default `timeoutMs` from now). */
export function searchPart(readers: ShardReaders, shard: number, query: SearchPageQuery, deadline = performance.now() + query.timeoutMs): SearchPart {
  const range = searchRange(query);
  if (range.lo >= range.hi) return { rows: [], exhausted: true, reached: range.order === 'desc' ? range.hi + 1 : range.lo };
  const rows: StoredEventRow[] = [];
  const result = scanShard(readers, shard, new CompiledFilter(query), range, { matches: query.limit, rows: query.maxRows, deadline }, (row) => rows.push(row));
  return { rows, exhausted: result.exhausted, reached: result.reached };
}
