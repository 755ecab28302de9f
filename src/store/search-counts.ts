/**
 * /search/histogram for one shard (a reader thread runs one shard each, so the shards count in
 * parallel), and the merge of their parts; /search/top is search-top.ts. Counts are exact: the events counted
 * are those the matcher accepts, as in /search. Two paths give them:
 * - a histogram of a query the word index answers exactly (search/index-plan.ts), over every
 *   topic and not split, counts each run of index blocks whose events all fall in one bucket
 *   inside the index (a rowid-range count, no row read) and reads the rows only of blocks that
 *   straddle a bucket edge, and of the tail not indexed yet;
 * - everything else reads each candidate row (bounded by rows and time: `partial`).
 */
import type { SearchHistogram } from '../events/responses.js';
import { eventTimeMs } from '../events/time-bound.js';
import type { HistogramQuery } from '../search/request.js';
import { CompiledFilter, indexedThrough, scanShard, type ScanRange } from './search-scan.js';
import { kMaxDistinct, payloadReader, valueOf } from './search-values.js';
import { kBlockShift } from './search-index.js';
import type { ShardReaders } from './shard-readers.js';
import type { StoredEventRow } from './tables.js';

/** Values a split histogram shows per bucket; the rest are `_other`. */
export const kSplitValues = 10;

export interface Budget {
  readonly rows: number;
  /** performance.now() past which the shard stops. */
  readonly deadline: number;
}

export interface HistogramPart {
  readonly counts: number[];
  /** `by`: per value, its counts per bucket. */
  readonly split: [value: string, counts: number[]][] | null;
  readonly partial: boolean;
}


export function histogramOfShard(readers: ShardReaders, shard: number, query: HistogramQuery, budget: Budget): HistogramPart {
  const counts = new Array<number>(query.buckets).fill(0);
  const split = query.by === null ? null : new Map<string, number[]>();
  const bucketOf = (ms: number): number => Math.min(query.buckets - 1, Math.floor((ms - query.sinceMs) / query.stepMs));
  const filter = new CompiledFilter(query, query.by?.kind === 'payload' ? query.by.path : null);
  const payloadOf = payloadReader(readers, shard);
  let rows = 0;
  let partial = false;
  const count = (row: StoredEventRow): void => {
    const bucket = bucketOf(eventTimeMs(row.timestamp));
    counts[bucket]!++;
    if (split === null) return;
    // An event without a value is in its bucket's count and so in `_other`.
    const value = valueOf(query.by!, row, payloadOf);
    if (value === undefined) return;
    const label = String(value);
    let perBucket = split.get(label);
    if (!perBucket) {
      if (split.size >= kMaxDistinct) return void (partial = true);
      split.set(label, (perBucket = new Array<number>(query.buckets).fill(0)));
    }
    perBucket[bucket]!++;
  };
  const scan = (range: ScanRange): void => {
    const result = scanShard(readers, shard, filter, range, { matches: Infinity, rows: Math.max(0, budget.rows - rows), deadline: budget.deadline }, count);
    rows += result.rows;
    if (!result.exhausted) partial = true;
  };
  const byBlocks = query.topic === null && split === null && (query.query === null || filter.plan?.exact === true);
  if (!byBlocks) scan({ order: 'asc', lo: 0, hi: query.maxSeq });
  else {
    readers.snapshot(shard, () => {
      const mark = Math.min(indexedThrough(readers, shard), query.maxSeq);
      const countRange = filter.plan
        ? readers.prepare(shard, 'SELECT count(*) FROM search_words WHERE search_words MATCH ? AND rowid BETWEEN ? AND ?').pluck()
        : readers.prepare(shard, 'SELECT count(*) FROM events WHERE seq BETWEEN ? AND ?').pluck();
      const blocks = readers
        .prepare(shard, 'SELECT block, min_ms, max_ms FROM search_blocks WHERE block <= ? AND max_ms >= ? AND min_ms < ? ORDER BY block')
        .raw()
        .all(Math.floor(mark / 2 ** kBlockShift), query.sinceMs, query.untilMs) as [number, number, number][];
      // Consecutive blocks that fall in one bucket are counted as one range; -1 marks a straddling run.
      let run: { first: number; last: number; bucket: number } | null = null;
      const flush = (): void => {
        if (run === null || partial) return;
        const last = Math.min(run.last, mark);
        if (run.bucket >= 0) counts[run.bucket]! += countRange.get(...(filter.plan ? [filter.plan.match] : []), BigInt(run.first), BigInt(last)) as number;
        else scan({ order: 'asc', lo: run.first - 1, hi: last });
        if (performance.now() > budget.deadline) partial = true;
        run = null;
      };
      for (const [block, min, max] of blocks) {
        const first = block * 2 ** kBlockShift;
        const last = first + 2 ** kBlockShift - 1;
        const inside = min >= query.sinceMs && max < query.untilMs && bucketOf(min) === bucketOf(max);
        const bucket = inside ? bucketOf(min) : -1;
        if (run !== null && run.bucket === bucket && run.last + 1 === first) run.last = last;
        else {
          flush();
          run = { first, last, bucket };
        }
      }
      flush();
      if (!partial) scan({ order: 'asc', lo: mark, hi: query.maxSeq });
    });
  }
  return { counts, split: split === null ? null : [...split], partial };
}

export function mergeHistogram(query: HistogramQuery, parts: readonly HistogramPart[]): SearchHistogram {
  const counts = new Array<number>(query.buckets).fill(0);
  const split = new Map<string, number[]>();
  for (const part of parts) {
    part.counts.forEach((count, bucket) => (counts[bucket]! += count));
    for (const [value, perBucket] of part.split ?? []) {
      const sum = split.get(value) ?? new Array<number>(query.buckets).fill(0);
      perBucket.forEach((count, bucket) => (sum[bucket]! += count));
      split.set(value, sum);
    }
  }
  const totalOf = (perBucket: readonly number[]): number => perBucket.reduce((sum, count) => sum + count, 0);
  const shown = [...split]
    .map(([value, perBucket]) => ({ value, perBucket, total: totalOf(perBucket) }))
    .sort((a, b) => b.total - a.total || (a.value < b.value ? -1 : 1))
    .slice(0, kSplitValues);
  return {
    since: new Date(query.sinceMs).toISOString(),
    until: new Date(query.untilMs).toISOString(),
    step_seconds: query.stepMs / 1000,
    total: totalOf(counts),
    partial: parts.some((part) => part.partial),
    buckets: counts.map((count, bucket) => {
      const start = new Date(Math.round(query.sinceMs + bucket * query.stepMs)).toISOString();
      if (query.by === null) return { start, count };
      const by: Record<string, number> = {};
      let other = count;
      for (const { value, perBucket } of shown) {
        if (perBucket[bucket]! > 0) by[value] = perBucket[bucket]!;
        other -= perBucket[bucket]!;
      }
      if (other > 0) by._other = other;
      return { start, count, by };
    }),
  };
}

