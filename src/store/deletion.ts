import type Database from 'better-sqlite3';
import { rowBytes } from './tables.js';

/**
 * A deletion by selector, as the writer applies it. It travels through the shard's ring like a
 * frame of events, so it takes effect in ring order among the commits, inside one of their
 * transactions: a deterministic function of what the writer sees, as a replica needs.
 */
export interface DeleteCommand {
  readonly kind: 'delete';
  readonly topic: string;
  /** Receive-time range in ms since the epoch, [from, to); null bounds are open. Ignored with `eventIds`. */
  readonly receivedFrom: number | null;
  readonly receivedTo: number | null;
  /** Delete exactly these ids of the topic, instead of a range. */
  readonly eventIds: readonly string[] | null;
  /** Erase the identities too: a resend is then stored again (a data-protection request). */
  readonly forget: boolean;
  /** Most rows one shard deletes for one command; the caller repeats the command while a shard hit it. */
  readonly limit: number;
  /** When the deletion was asked, ms since the epoch: the retirement time of what it removes. */
  readonly at: number;
}

interface Row {
  readonly seq: number;
  readonly event_id: string;
  readonly timestamp: string;
  readonly source: string;
  readonly payload: string;
  readonly received_at: number;
}

/** Applies deletions inside the writer's transaction; `run` returns how many stored events it removed. */
export class Deletion {
  readonly #topicId: Database.Statement<[string], number>;
  readonly #byId: Database.Statement<[number, string], Row>;
  readonly #oldest: Database.Statement<[number], Row>;
  readonly #retire: Database.Statement<[number, string, number]>;
  readonly #unretire: Database.Statement<[number, string]>;
  readonly #remove: Database.Statement<[number]>;
  readonly #countTopic: Database.Statement<[number, number, number]>;
  readonly #countTotal: Database.Statement<[number]>;

  constructor(db: Database.Database) {
    this.#topicId = db.prepare<[string], number>('SELECT id FROM topics WHERE topic = ?').pluck();
    this.#byId = db.prepare<[number, string], Row>('SELECT seq, event_id, timestamp, source, payload, received_at FROM events WHERE topic_id = ? AND event_id = ?');
    this.#oldest = db.prepare<[number], Row>('SELECT seq, event_id, timestamp, source, payload, received_at FROM events WHERE topic_id = ? ORDER BY seq');
    this.#retire = db.prepare('INSERT OR IGNORE INTO retired (topic_id, event_id, retired_at) VALUES (?, ?, ?)');
    this.#unretire = db.prepare('DELETE FROM retired WHERE topic_id = ? AND event_id = ?');
    this.#remove = db.prepare('DELETE FROM events WHERE seq = ?');
    this.#countTopic = db.prepare('UPDATE topics SET deleted = deleted + ?, stored_bytes = stored_bytes - ? WHERE id = ?');
    this.#countTotal = db.prepare('UPDATE counters SET deleted = deleted + ? WHERE id = 0');
  }

  run(command: DeleteCommand): number {
    const topicId = this.#topicId.get(command.topic);
    if (topicId === undefined) return 0;
    const doomed = command.eventIds ? this.#byIds(topicId, command) : this.#inRange(topicId, command);
    let freed = 0;
    for (const row of doomed) {
      this.#remove.run(row.seq);
      if (!command.forget) this.#retire.run(topicId, row.event_id, Math.floor(command.at / 1000));
      freed += rowBytes(row.event_id, row.timestamp, row.source, row.payload);
    }
    if (doomed.length > 0) {
      this.#countTopic.run(doomed.length, freed, topicId);
      this.#countTotal.run(doomed.length);
    }
    return doomed.length;
  }

  #byIds(topicId: number, command: DeleteCommand): Row[] {
    const doomed: Row[] = [];
    for (const eventId of command.eventIds!) {
      // Forgetting also erases an identity whose row is already gone (expired or deleted before).
      if (command.forget) this.#unretire.run(topicId, eventId);
      const row = this.#byId.get(topicId, eventId);
      if (row !== undefined && doomed.length < command.limit) doomed.push(row);
    }
    return doomed;
  }

  /** Rows in seq order are in receive order: the scan stops at the first row past the range. */
  #inRange(topicId: number, command: DeleteCommand): Row[] {
    const doomed: Row[] = [];
    for (const row of this.#oldest.iterate(topicId)) {
      if (command.receivedTo !== null && row.received_at >= command.receivedTo) break;
      if (command.receivedFrom !== null && row.received_at < command.receivedFrom) continue;
      doomed.push(row);
      if (doomed.length >= command.limit) break;
    }
    return doomed;
  }
}
