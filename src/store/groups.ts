import type Database from 'better-sqlite3';
import { backoffAfter, kSettle, type GroupCommand, type GroupDefinition, type GroupDeliver, type GroupPut, type GroupReply, type GroupSettle } from '../groups/model.js';
import { globMatches } from '../search/glob.js';
import { renderEvent } from './read-parts.js';
import { eventColumns, type StoredEventRow } from './tables.js';

/**
 * Consumer groups' state in one shard file, changed only by the shard's writer, inside the commit's
 * transaction (so it is exactly as durable as the events, and a rolled-back commit leaves no trace):
 *
 *   groups         per group: its definition, `scan_seq` (first deliveries have looked at every event
 *                  up to it) and the counters
 *   group_pending  per delivered message not yet acked or dead-lettered: its delivery count, `due`
 *                  (when it may go out again: its ack wait's end, or a nak's delay) and `dying` (its
 *                  dead letter is being stored)
 *
 * So a message is in flight to one fetcher exactly while its row's `due` lies ahead: a delivery is
 * granted here, serially, only for a message with no row (a first one) or a row that is due.
 */

/**
 * The topic ids of one shard file that a group's selector (names and globs) matches. Topics are
 * numbered as they first arrive, so a look after the first needs to match only the newer ones.
 */
export class TopicSelector {
  readonly definition: GroupDefinition;
  /** `*` alone: every topic. */
  readonly all: boolean;
  readonly ids = new Set<number>();
  #lastTopicId = 0;

  constructor(definition: GroupDefinition) {
    this.definition = definition;
    this.all = definition.topics.includes('*');
  }

  /** `newTopics` selects `topic, id` of the topics with an id above its one parameter, by id. */
  refresh(newTopics: Database.Statement): this {
    if (this.all) return this;
    for (const { topic, id } of newTopics.iterate(this.#lastTopicId) as Iterable<{ topic: string; id: number }>) {
      if (this.definition.topics.some((pattern) => globMatches(pattern, topic))) this.ids.add(id);
      this.#lastTopicId = id;
    }
    return this;
  }

  has(topicId: number): boolean {
    return this.all || this.ids.has(topicId);
  }
}

export const kNewTopicsSql = 'SELECT topic, id FROM topics WHERE id > ? ORDER BY id';

/** A group's row: its definition (JSON), how far first deliveries have looked, and its pending count (a count of group_pending would cost every command O(pending)). */
interface GroupRow {
  readonly definition: string;
  readonly scan_seq: number;
  readonly pending: number;
}

/** A first-delivery scan of a selector that matches many topics examines at most this many rows. */
const kScanRows = 4096;
/** Up to this many matched topics, first deliveries walk each topic's (topic_id, seq) index. */
const kPerTopicWalk = 16;

export class GroupStore {
  readonly #selectors = new Map<string, TopicSelector>();
  readonly #sql: Record<string, Database.Statement>;

  constructor(db: Database.Database) {
    // A file from before consumer groups gets the tables as it opens.
    db.exec(groupTables);
    const prepare = (sql: string): Database.Statement => db.prepare(sql);
    this.#sql = {
      group: prepare('SELECT definition, scan_seq, pending FROM groups WHERE name = ?'),
      create: prepare('INSERT INTO groups (name, definition, scan_seq) VALUES (?, ?, ?)'),
      redefine: prepare('UPDATE groups SET definition = ? WHERE name = ?'),
      drop: prepare('DELETE FROM groups WHERE name = ?'),
      dropPending: prepare('DELETE FROM group_pending WHERE name = ?'),
      add: prepare('UPDATE groups SET scan_seq = max(scan_seq, ?), delivered = delivered + ?, acked = acked + ?, redelivered = redelivered + ?, dead_lettered = dead_lettered + ?, skipped = skipped + ?, pending = pending + ? WHERE name = ?'),
      row: prepare('SELECT deliveries, dying FROM group_pending WHERE name = ? AND seq = ?'),
      insert: prepare('INSERT INTO group_pending (name, seq, deliveries, due, dying) VALUES (?, ?, 1, ?, 0)'),
      redeliver: prepare('UPDATE group_pending SET deliveries = deliveries + 1, due = ? WHERE name = ? AND seq = ?'),
      setDue: prepare('UPDATE group_pending SET due = ? WHERE name = ? AND seq = ?'),
      die: prepare('UPDATE group_pending SET dying = 1, reason = ? WHERE name = ? AND seq = ?'),
      remove: prepare('DELETE FROM group_pending WHERE name = ? AND seq = ?'),
      ackLive: prepare('DELETE FROM group_pending WHERE name = ? AND seq = ? AND dying = 0'),
      due: prepare('SELECT seq, deliveries FROM group_pending WHERE name = ? AND dying = 0 AND due <= ? ORDER BY due LIMIT ?'),
      dying: prepare('SELECT seq FROM group_pending WHERE name = ? AND dying = 1 ORDER BY seq LIMIT ?').pluck(),
      nextDue: prepare('SELECT min(due) FROM group_pending WHERE name = ? AND dying = 0').pluck(),
      topicOf: prepare('SELECT topic_id FROM events WHERE seq = ?').pluck(),
      event: prepare(`SELECT ${eventColumns} FROM events e JOIN topics t ON t.id = e.topic_id WHERE e.seq = ?`),
      newTopics: prepare(kNewTopicsSql),
      lastSeq: prepare('SELECT last_seq FROM counters').pluck(),
      firstSince: prepare('SELECT min(seq) FROM events WHERE received_at >= ?').pluck(),
      afterAll: prepare('SELECT seq, topic_id FROM events WHERE seq > ? ORDER BY seq LIMIT ?'),
      afterInTopic: prepare(`SELECT ${eventColumns} FROM events e JOIN topics t ON t.id = e.topic_id WHERE e.topic_id = ? AND e.seq > ? ORDER BY e.seq LIMIT ?`),
    };
  }

  /** The commit rolled back: what was cached from inside it may be wrong. */
  rollBack(): void {
    this.#selectors.clear();
  }

  run(command: GroupCommand): GroupReply {
    switch (command.kind) {
      case 'group_put':
        return this.#put(command);
      case 'group_delete': {
        const existed = this.#sql.drop!.run(command.name).changes > 0;
        this.#sql.dropPending!.run(command.name);
        this.#selectors.delete(command.name);
        return { missing: !existed, pending: 0, nextDue: null };
      }
      case 'group_deliver':
        return this.#deliver(command);
      default:
        return this.#settle(command);
    }
  }

  #put(command: GroupPut): GroupReply {
    const found = this.#sql.group!.get(command.name) as GroupRow | undefined;
    const { definition } = command;
    if (found) {
      const existing = JSON.parse(found.definition) as GroupDefinition;
      const state = this.#state(command.name, found.pending);
      if (JSON.stringify([existing.topics, existing.start]) !== JSON.stringify([definition.topics, definition.start])) return { ...state, missing: false, conflict: true, created: false };
      this.#sql.redefine!.run(JSON.stringify(definition), command.name);
      this.#selectors.delete(command.name);
      return { ...state, missing: false, created: false };
    }
    const since = command.sinceMs === null ? null : (this.#sql.firstSince!.get(command.sinceMs) as number | null);
    // From a receive time: just before the first event received since then, or after every one.
    const startSeq = command.startSeq ?? (since === null ? (this.#sql.lastSeq!.get() as number) : since - 1);
    this.#sql.create!.run(command.name, JSON.stringify(definition), startSeq);
    return { missing: false, created: true, pending: 0, nextDue: null };
  }

  #deliver({ name, max, at }: GroupDeliver): GroupReply {
    const group = this.#open(name);
    if (!group) return { missing: true, pending: 0, nextDue: null };
    const { row: groupRow, selector } = group;
    const { definition } = selector;
    const dying = this.#sql.dying!.all(name, kScanRows) as number[];
    const granted: [number, number][] = [];
    // Rendered here, while the rows are at hand: the answer needs no second read.
    const events: string[] = [];
    let redelivered = 0;
    let skipped = 0;
    // Due redeliveries first: they are the oldest work.
    for (const row of this.#sql.due!.all(name, at, max + 64) as { seq: number; deliveries: number }[]) {
      if (granted.length >= max) break;
      const event = this.#sql.event!.get(row.seq) as StoredEventRow | undefined;
      if (event === undefined) {
        this.#sql.remove!.run(name, row.seq);
        skipped++;
      } else if (row.deliveries >= definition.max_deliver) {
        this.#sql.die!.run('max_deliver', name, row.seq);
        dying.push(row.seq);
      } else {
        this.#sql.redeliver!.run(dueAfter(definition, at, row.deliveries + 1), name, row.seq);
        granted.push([row.seq, row.deliveries + 1]);
        events.push(renderEvent(event));
        redelivered++;
      }
    }
    const room = Math.min(max - granted.length, definition.max_pending - groupRow.pending);
    const next = room > 0 ? this.#nextEvents(selector, groupRow.scan_seq, room) : { events: [], scanned: 0 };
    const firstDue = dueAfter(definition, at, 1);
    for (const event of next.events) {
      this.#sql.insert!.run(name, event.seq, firstDue);
      granted.push([event.seq, 1]);
      events.push(renderEvent(event));
    }
    const added = next.events.length - skipped;
    this.#sql.add!.run(next.scanned, next.events.length, 0, redelivered, 0, skipped, added, name);
    return { ...this.#state(name, groupRow.pending + added), missing: false, granted, events, dying };
  }

  #settle(command: GroupSettle): GroupReply {
    const group = this.#open(command.name);
    if (!group) return { missing: true, pending: 0, nextDue: null };
    const { name, at } = command;
    const { row: groupRow, selector } = group;
    const { definition } = selector;
    const statuses: number[] = [];
    const dying: number[] = [];
    let acked = 0;
    let dead = 0;
    for (const seq of command.seqs) {
      // An ack of a live message, the common case, is one statement.
      if (command.kind === 'group_ack' && this.#sql.ackLive!.run(name, seq).changes === 1) {
        acked++;
        statuses.push(kSettle.done);
        continue;
      }
      const row = this.#sql.row!.get(name, seq) as { deliveries: number; dying: number } | undefined;
      if (!row) {
        statuses.push(seq <= groupRow.scan_seq && this.#matches(selector, seq) ? kSettle.gone : kSettle.unknown);
        continue;
      }
      // A dying message waits only for its dead letter: nothing else moves it.
      const live = row.dying === 0;
      let done = live;
      switch (command.kind) {
        case 'group_ack':
          // A live message was acked above: what is left here is dying.
          break;
        case 'group_nak':
          if (live) this.#sql.setDue!.run(at + (command.delayMs ?? backoffAfter(definition, row.deliveries)), name, seq);
          break;
        case 'group_extend':
          if (live) this.#sql.setDue!.run(dueAfter(definition, at, row.deliveries), name, seq);
          break;
        case 'group_term':
          if (live) {
            this.#sql.die!.run(command.reason ?? 'term', name, seq);
            dying.push(seq);
          }
          break;
        case 'group_dead':
          done = !live;
          if (done) {
            this.#sql.remove!.run(name, seq);
            dead++;
          }
          break;
      }
      statuses.push(done ? kSettle.done : kSettle.gone);
    }
    if (acked + dead > 0) this.#sql.add!.run(0, 0, acked, 0, dead, 0, -(acked + dead), name);
    return { ...this.#state(name, groupRow.pending - acked - dead), missing: false, statuses, dying };
  }

  /** The answer's view of the group after the command: its pending count (kept in its row, moved by the command) and the earliest due. */
  #state(name: string, pending: number): { pending: number; nextDue: number | null } {
    return { pending, nextDue: (this.#sql.nextDue!.get(name) as number | null) ?? null };
  }

  /** The group's row and selector, read once per command; null: no such group in this shard. */
  #open(name: string): { row: GroupRow; selector: TopicSelector } | null {
    const row = this.#sql.group!.get(name) as GroupRow | undefined;
    if (!row) return null;
    let selector = this.#selectors.get(name);
    if (!selector) {
      selector = new TopicSelector(JSON.parse(row.definition) as GroupDefinition);
      this.#selectors.set(name, selector);
    }
    return { row, selector: selector.refresh(this.#sql.newTopics!) };
  }

  #matches(selector: TopicSelector, seq: number): boolean {
    const topicId = this.#sql.topicOf!.get(seq) as number | undefined;
    return topicId !== undefined && selector.has(topicId);
  }

  /**
   * Up to `need` events after `after` that the selector matches, in seq order, and how far every
   * event has been looked at (`scanned`): every match at or below it is among `seqs` or before.
   * Within one shard seqs only grow in commit order, so nothing can later appear below `scanned`.
   */
  #nextEvents(selector: TopicSelector, after: number, need: number): { events: StoredEventRow[]; scanned: number } {
    const lastSeq = this.#sql.lastSeq!.get() as number;
    if (!selector.all && selector.ids.size <= kPerTopicWalk) {
      const found: StoredEventRow[] = [];
      for (const id of selector.ids) found.push(...(this.#sql.afterInTopic!.all(id, after, need) as StoredEventRow[]));
      found.sort((a, b) => a.seq - b.seq);
      if (found.length >= need) return { events: found.slice(0, need), scanned: found[need - 1]!.seq };
      return { events: found, scanned: Math.max(after, lastSeq) };
    }
    const events: StoredEventRow[] = [];
    const rows = this.#sql.afterAll!.all(after, kScanRows) as { seq: number; topic_id: number }[];
    for (const row of rows) {
      if (!selector.has(row.topic_id)) continue;
      events.push(this.#sql.event!.get(row.seq) as StoredEventRow);
      if (events.length === need) return { events, scanned: row.seq };
    }
    return { events, scanned: rows.length === kScanRows ? rows[rows.length - 1]!.seq : Math.max(after, lastSeq) };
  }
}

/**
 * When a message delivered (or extended) at `at`, for the `deliveries`-th time, may go out again
 * unless acked: once its ack wait has passed, and the backoff for that count has too.
 */
function dueAfter(definition: GroupDefinition, at: number, deliveries: number): number {
  return at + Math.max(definition.ack_wait_ms, backoffAfter(definition, deliveries));
}

export const groupTables = `
  CREATE TABLE IF NOT EXISTS groups (
    name          TEXT    PRIMARY KEY,
    definition    TEXT    NOT NULL,
    scan_seq      INTEGER NOT NULL,
    delivered     INTEGER NOT NULL DEFAULT 0,
    acked         INTEGER NOT NULL DEFAULT 0,
    redelivered   INTEGER NOT NULL DEFAULT 0,
    dead_lettered INTEGER NOT NULL DEFAULT 0,
    skipped       INTEGER NOT NULL DEFAULT 0,
    pending       INTEGER NOT NULL DEFAULT 0
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS group_pending (
    name       TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    deliveries INTEGER NOT NULL,
    due        INTEGER NOT NULL,
    dying      INTEGER NOT NULL,
    reason     TEXT,
    PRIMARY KEY (name, seq)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS group_pending_due ON group_pending (name, dying, due);
`;
