import { shardPath } from '../../../src/store/data-dir.js';
import { ShardDb, type StoreBatch, type StoreEvent } from '../../../src/store/shard-db.js';
import { eventColumns, type StoredEventRow } from '../../../src/store/tables.js';
import { ShardReaders } from '../../../src/store/shard-readers.js';
import { makeTempDir } from '../../helper.js';

export const kTopics = ['topic.a', 'topic.b', 'topic.c', 'other.x'] as const;
const kWords = ['alpha', 'beta', 'gamma', 'delta'] as const;

export interface SampleShards {
  readonly dir: string;
  readonly readers: ShardReaders;
  /** Every stored row of each shard, in seq order. */
  readonly stored: StoredEventRow[][];
  /** The highest seq stored. */
  readonly lastSeq: number;
  close(): void;
}

export interface SampleOptions {
  readonly shards: number;
  readonly events: number;
  /** `--index-field` paths the writers index. */
  readonly indexFields?: readonly (readonly string[])[];
  /** Events of each shard put in the word index (the rest is its unindexed tail). */
  readonly wordIndexed?: number;
}

/**
 * Shard files with events spread unevenly over the shards (a fixed pseudo-random draw), so each
 * shard's rows interleave with the others' in seq order, as the sequencer makes them. Payloads
 * carry `user` (seq mod 5), `kind` and a `msg` of words; each shard also sees some duplicates, so
 * the topics' counts differ from their stored rows.
 */
export async function sampleShards(options: SampleOptions): Promise<SampleShards> {
  const dir = await makeTempDir('read-parts-');
  let state = 12345;
  const draw = (n: number): number => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return Math.floor((state / 2 ** 31) * n);
  };
  const perShard: StoreEvent[][] = Array.from({ length: options.shards }, () => []);
  for (let seq = 1; seq <= options.events; seq++) {
    // Shard 0 takes half the events, the others share the rest: their frontiers differ.
    const shard = draw(2) === 0 ? 0 : 1 + draw(options.shards - 1);
    const topic = kTopics[draw(kTopics.length)]!;
    const msg = `${kWords[draw(kWords.length)]} ${kWords[draw(kWords.length)]}`;
    const payload = JSON.stringify({ user: seq % 5, kind: kWords[draw(3)], msg, n: seq });
    perShard[shard % options.shards]!.push({ seq, topic, eventId: `e${seq}`, timestamp: `2025-10-22T10:${String(seq % 60).padStart(2, '0')}:00Z`, source: `s${seq % 3}`, payload });
  }
  const batch = (events: readonly StoreEvent[]): StoreBatch => ({ receivedAt: 1_700_000_000_000, rejected: 0, wantsStatuses: false, events });
  for (let shard = 0; shard < options.shards; shard++) {
    const db = new ShardDb({ path: shardPath(dir, shard), shard, shardCount: options.shards, indexFields: options.indexFields ?? [] });
    const events = perShard[shard]!;
    db.commit([batch(events)]);
    // Resends of every seventh event: counted as duplicates, never stored (their seqs are past the stored ones).
    db.commit([batch(events.filter((_, index) => index % 7 === 0).map((event, index) => ({ ...event, seq: options.events + 1 + shard * options.events + index })))]);
    if (options.wordIndexed !== undefined) db.indexSlice(options.wordIndexed);
    db.close();
  }
  const readers = new ShardReaders(dir, options.shards);
  const sql = `SELECT ${eventColumns} FROM events e JOIN topics t ON t.id = e.topic_id ORDER BY e.seq`;
  const stored = Array.from({ length: options.shards }, (_, shard) => readers.prepare(shard, sql).all() as StoredEventRow[]);
  return { dir, readers, stored, lastSeq: options.events, close: () => readers.close() };
}

/** The rows of every shard in seq order. */
export function allRows(sample: SampleShards): StoredEventRow[] {
  return sample.stored.flat().sort((a, b) => a.seq - b.seq);
}
