/**
 * Where a shard file stands in its shard's log, and the seqs the log gives its events
 * (../shared/spec/cluster.md §2.4, §4). Everything here follows from the log alone, so every
 * replica, now or rebuilt later, gives every event the same seq. Both engines sit above it: the
 * embedded engine never moves a position (it stays 0); the cluster engine applies each log message
 * at its position through the local core, and the shard writer stores the position with the commit.
 *
 * Each shard keeps a clock in µs. A message at log timestamp `ts` starts at the first value above
 * both the clock and `ts - 1` that is congruent to the shard number modulo the shard count, and its
 * event j gets `first + j·shards`. So seqs only grow within a shard, no two shards ever share one
 * (each owns its residue), and a plain number orders the whole cluster: the read path, cursors and
 * tail work on them unchanged. The clock after a message is its last event's seq (or `first` for
 * an empty message, a tick), and every later message of the shard starts above it: that is the
 * shard's frontier.
 *
 * 2^53 µs lasts until the year 2255. A shard taking more than 10^6 / shards events a second runs
 * its clock ahead of real time, which delays visibility (the watermark waits for the other shards'
 * clocks) but never orders wrongly.
 */

/** The last log position a shard file applied, and the clock after it; 0 and 0 before any. */
export interface LogPosition {
  readonly seq: number;
  readonly clock: number;
}

/** The seq of a message's first event (or the tick's clock). */
export function firstSeqOf(clock: number, timestampMicros: number, shard: number, shards: number): number {
  const base = Math.max(clock + 1, timestampMicros);
  return base + ((((shard - base) % shards) + shards) % shards);
}

/** The shard's clock after a message of `events` events starting at `first`. */
export function clockAfter(first: number, events: number, shards: number): number {
  return first + Math.max(0, events - 1) * shards;
}
