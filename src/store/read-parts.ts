/**
 * The reads that span shards, cut in two: each shard's part is computed from that shard's file
 * alone (event-pages.ts, search-pages.ts), and the merges here make the answer out of the parts.
 * Nothing here opens SQLite, so whoever gathers parts from elsewhere (a cluster node asking the
 * nodes that hold the shards) merges them with the same code as the reader threads.
 *
 * A part can be cut to a byte budget for transport (the trims): it then claims less of the range,
 * so the merged page goes on from where the cut part stopped, and nothing is skipped or repeated.
 */
import type { PageQuery, TopicRow } from '../ingest/storage.js';
import type { SearchPageQuery } from '../search/request.js';
import type { ScanRange } from './search-scan.js';
import type { StoredEventRow } from './tables.js';

export interface EventPage {
  readonly rows: StoredEventRow[];
  /** See `Page.through`. */
  readonly through: number;
  readonly partial: boolean;
}

/** One shard's share of a page: its first `limit` matches after the cursor, all at or below `reach`; every match of this shard in (afterSeq, reach] is in `rows` unless rows.length === limit. */
export interface PagePart {
  readonly rows: StoredEventRow[];
  readonly reach: number;
}

/**
 * The page out of every shard's part. Each part holds its shard's first `limit` matches up to its
 * own reach, so cut at the lowest reach it holds the first `limit` matches up to that frontier:
 * what the single pass read (frontier probed over all shards first, then each shard read up to it).
 */
export function mergePageParts(parts: readonly PagePart[], query: Pick<PageQuery, 'maxSeq' | 'limit'>): EventPage {
  let frontier = query.maxSeq;
  for (const part of parts) frontier = Math.min(frontier, part.reach);
  const rows = mergeBySeq(
    parts.map((part) => part.rows.filter((row) => row.seq <= frontier)),
    query.limit,
  );
  const full = rows.length >= query.limit;
  return { rows, through: full ? rows[rows.length - 1]!.seq : frontier, partial: !full && frontier < query.maxSeq };
}

/** The part cut to the longest prefix whose rendered rows fit `maxBytes` (one row at least, so a page always moves); it then reaches only its last row. */
export function trimPagePart(part: PagePart, maxBytes: number): PagePart {
  const kept = fittingRows(part.rows, maxBytes);
  return kept === part.rows.length ? part : { rows: part.rows.slice(0, kept), reach: part.rows[kept - 1]!.seq };
}

export interface SearchPageRows {
  /** In the page's order. */
  readonly rows: StoredEventRow[];
  /** The cursor's seq for the next page; null: the query is exhausted in this order. */
  readonly next: number | null;
  readonly partial: boolean;
}

/** One shard's share of a /search page: what its scan (search-scan.ts) found and how far it got. */
export interface SearchPart {
  /** The shard's matches in the page's order (desc: falling seq), at most `limit`. */
  readonly rows: StoredEventRow[];
  /** The whole range was examined. */
  readonly exhausted: boolean;
  /** asc: every seq in (lo, reached] was examined; desc: every seq in [reached, hi]. */
  readonly reached: number;
}

/** The seqs a /search page reads: above the cursor up to the watermark (asc), or below it (desc). */
export function searchRange(query: Pick<SearchPageQuery, 'order' | 'after' | 'maxSeq'>): ScanRange {
  return query.order === 'desc'
    ? { order: 'desc', lo: 0, hi: Math.min(query.maxSeq, query.after === null ? query.maxSeq : query.after - 1) }
    : { order: 'asc', lo: query.after ?? 0, hi: query.maxSeq };
}

/**
 * The page holds the matches every shard has examined up to (the frontier), so the cursor it
 * returns continues where the slowest shard stopped: no match is skipped or repeated.
 */
export function mergeSearchParts(parts: readonly SearchPart[], query: Pick<SearchPageQuery, 'order' | 'after' | 'maxSeq' | 'limit'>): SearchPageRows {
  const desc = query.order === 'desc';
  const range = searchRange(query);
  // Nothing to read: whatever the parts say, the query is exhausted in this order.
  if (range.lo >= range.hi) return { rows: [], next: null, partial: false };
  // The frontier: the furthest point every unfinished shard examined to.
  let frontier = desc ? range.lo + 1 : range.hi;
  let exhausted = true;
  for (const part of parts) {
    if (part.exhausted) continue;
    exhausted = false;
    frontier = desc ? Math.max(frontier, part.reached) : Math.min(frontier, part.reached);
  }
  const inReach = parts.flatMap((part) => part.rows.filter((row) => (desc ? row.seq >= frontier : row.seq <= frontier)));
  const rows = inReach.sort((a, b) => (desc ? b.seq - a.seq : a.seq - b.seq)).slice(0, query.limit);
  if (rows.length === query.limit) return { rows, next: rows[rows.length - 1]!.seq, partial: false };
  if (!exhausted) return { rows, next: frontier, partial: true };
  // Exhausted: desc has nothing older; asc may find newer events later, from the watermark on.
  return { rows, next: !desc && rows.length > 0 ? range.hi : null, partial: false };
}

/**
 * The part cut to the longest prefix (in the page's order) whose rendered rows fit `maxBytes`, one
 * row at least. The scan is then taken to have stopped at the last row kept: in either order, every
 * match between the range's start and that row is kept.
 */
export function trimSearchPart(part: SearchPart, maxBytes: number): SearchPart {
  const kept = fittingRows(part.rows, maxBytes);
  return kept === part.rows.length ? part : { rows: part.rows.slice(0, kept), exhausted: false, reached: part.rows[kept - 1]!.seq };
}

/** Topics summed by name over the shards that have them; each part is its shard's first `limit` names after the cursor. */
export function mergeTopicParts(parts: readonly (readonly TopicRow[])[], limit: number): TopicRow[] {
  const merged = new Map<string, TopicRow>();
  for (const part of parts) {
    for (const row of part) {
      const seen = merged.get(row.topic);
      merged.set(row.topic, seen ? { topic: row.topic, received: seen.received + row.received, unique: seen.unique + row.unique, duplicates: seen.duplicates + row.duplicates, expired: seen.expired + row.expired, deleted: seen.deleted + row.deleted } : row);
    }
  }
  // Each shard gave its first `limit` names: the first `limit` of their union are complete.
  return [...merged.values()].sort((a, b) => (a.topic < b.topic ? -1 : 1)).slice(0, limit);
}

/** A shard's `limit` largest topics by `received`; or, with `names`, just those topics. */
export interface VolumeQuery {
  readonly limit: number;
  readonly names: readonly string[] | null;
}

/** One shard's largest topics by `received` (at most a limit), and how many topics the shard has. */
export interface VolumePart {
  readonly rows: TopicRow[];
  readonly count: number;
}

/** The shards' largest topics, each summed over the shards that listed it, largest first. */
export interface TopicVolumes {
  readonly rows: TopicRow[];
  /** Every shard listed all its topics: `rows` is every topic, with exact counts. */
  readonly complete: boolean;
  /** How many topics there are: exact when complete, else the most any one shard has (a lower bound). */
  readonly count: number;
}

/**
 * The topics out of every shard's largest. When no shard had more topics than it listed, the sums
 * are exact and every topic is there; otherwise a topic's sum misses the shards that did not list
 * it, and the ranking is that of the listed counts.
 */
export function mergeVolumeParts(parts: readonly VolumePart[]): TopicVolumes {
  const merged = mergeTopicParts(
    parts.map((part) => part.rows),
    Number.POSITIVE_INFINITY,
  );
  const complete = parts.every((part) => part.count <= part.rows.length);
  const count = complete ? merged.length : Math.max(merged.length, ...parts.map((part) => part.count));
  return { rows: merged.sort((a, b) => b.received - a.received || (a.topic < b.topic ? -1 : 1)), complete, count };
}

/** How many of the rows, from the first, fit `maxBytes` rendered as a JSON array; one at least when there are any. */
function fittingRows(rows: readonly StoredEventRow[], maxBytes: number): number {
  let bytes = 2;
  for (let index = 0; index < rows.length; index++) {
    bytes += Buffer.byteLength(renderEvent(rows[index]!)) + (index > 0 ? 1 : 0);
    if (bytes > maxBytes) return Math.max(1, index);
  }
  return rows.length;
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
  return `[${rows.map(renderEvent).join(',')}]`;
}

/** One stored event as the API serves it: the stored payload text goes out verbatim. */
export function renderEvent(row: StoredEventRow): string {
  return (
    `{"topic":${JSON.stringify(row.topic)},"event_id":${JSON.stringify(row.event_id)},` +
    `"timestamp":${JSON.stringify(row.timestamp)},"source":${JSON.stringify(row.source)},` +
    `"payload":${row.payload},"seq":${row.seq},"received_at":"${new Date(row.received_at).toISOString()}"}`
  );
}
