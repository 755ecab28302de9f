/**
 * What the reader threads read of consumer groups (the writer's side: groups.ts): each group's
 * state in one shard, and what a dead letter carries.
 */
export type { DyingMessage, GroupShardState };
import type { DyingMessage, GroupDefinition, GroupShardState } from '../groups/model.js';
import { renderEvents } from './read-parts.js';
import { kNewTopicsSql, TopicSelector } from './groups.js';
import type { ShardReaders } from './shard-readers.js';
import { eventColumns, type StoredEventRow } from './tables.js';

/** Rows a lag count of a many-topic selector examines at most per shard. */
const kLagRows = 1_000_000;
/** Up to this many matched topics, lag is counted per topic on its (topic_id, seq) index. */
const kLagPerTopic = 64;

const kMaxSelectors = 4096;
/** Per reader thread: selectors by shard and group, kept while the definition is unchanged. */
const selectors = new Map<string, TopicSelector>();

function selectorOf(readers: ShardReaders, shard: number, name: string, definitionJson: string): TopicSelector {
  const key = `${shard}\u0000${name}\u0000${definitionJson}`;
  let selector = selectors.get(key);
  if (!selector) {
    // Bounded: groups deleted or redefined leave their entries behind.
    if (selectors.size >= kMaxSelectors) selectors.clear();
    selector = new TopicSelector(JSON.parse(definitionJson) as GroupDefinition);
    selectors.set(key, selector);
  }
  return selector.refresh(readers.prepare(shard, kNewTopicsSql));
}

/** Every group's state in one shard (or just `name`'s), in one read transaction. */
export function groupStates(readers: ShardReaders, shard: number, name: string | null): GroupShardState[] {
  return readers.snapshot(shard, () => {
    const rows = (name === null
      ? readers.prepare(shard, 'SELECT * FROM groups ORDER BY name').all()
      : readers.prepare(shard, 'SELECT * FROM groups WHERE name = ?').all(name)) as {
      name: string;
      definition: string;
      scan_seq: number;
      delivered: number;
      acked: number;
      redelivered: number;
      dead_lettered: number;
      skipped: number;
      pending: number;
    }[];
    return rows.map((row) => {
      const low = readers.prepare(shard, 'SELECT min(seq) FROM group_pending WHERE name = ?').pluck().get(row.name) as number | null;
      const selector = selectorOf(readers, shard, row.name, row.definition);
      const { lag, bounded } = lagOf(readers, shard, selector, row.scan_seq);
      const floor = low !== null ? low - 1 : lag > 0 ? row.scan_seq : null;
      const { definition: _definition, scan_seq: _scan, ...counts } = row;
      return { ...counts, definition: selector.definition, lag, lagBounded: bounded, floor };
    });
  });
}

/** Lag is counted up to kLagRows per shard: a group far behind costs a bounded read, and says so. */
function lagOf(readers: ShardReaders, shard: number, selector: TopicSelector, after: number): { lag: number; bounded: boolean } {
  if (selector.all) {
    const lag = readers.prepare(shard, 'SELECT count(*) FROM (SELECT 1 FROM events WHERE seq > ? LIMIT ?)').pluck().get(after, kLagRows) as number;
    return { lag, bounded: lag >= kLagRows };
  }
  if (selector.ids.size <= kLagPerTopic) {
    const count = readers.prepare(shard, 'SELECT count(*) FROM (SELECT 1 FROM events WHERE topic_id = ? AND seq > ? LIMIT ?)').pluck();
    let lag = 0;
    for (const id of selector.ids) {
      lag += count.get(id, after, kLagRows - lag) as number;
      if (lag >= kLagRows) return { lag, bounded: true };
    }
    return { lag, bounded: false };
  }
  let lag = 0;
  let examined = 0;
  for (const topicId of readers.prepare(shard, 'SELECT topic_id FROM events WHERE seq > ? ORDER BY seq').pluck().iterate(after) as Iterable<number>) {
    if (selector.has(topicId)) lag++;
    if (++examined >= kLagRows) return { lag, bounded: true };
  }
  return { lag, bounded: false };
}

/** What the dead letters of `seqs` carry; a seq no longer dying (acked, or its letter already stored) is left out. */
export function dyingMessages(readers: ShardReaders, shard: number, name: string, seqs: readonly number[]): DyingMessage[] {
  const pending = readers.prepare(shard, 'SELECT deliveries, reason FROM group_pending WHERE name = ? AND seq = ? AND dying = 1');
  const select = readers.prepare(shard, `SELECT ${eventColumns} FROM events e JOIN topics t ON t.id = e.topic_id WHERE e.seq = ?`);
  const found: DyingMessage[] = [];
  readers.snapshot(shard, () => {
    for (const seq of seqs) {
      const row = pending.get(name, seq) as { deliveries: number; reason: string | null } | undefined;
      if (!row) continue;
      const event = select.get(seq) as StoredEventRow | undefined;
      found.push({ seq, deliveries: row.deliveries, reason: row.reason ?? 'term', eventJson: event ? renderEvents([event]).slice(1, -1) : null, topic: event?.topic ?? null, eventId: event?.event_id ?? null });
    }
  });
  return found;
}
