import type Database from 'better-sqlite3';
import type { DeletionSelector } from '../events/deletion-selector.js';
import { removableColumns, type Removal, type RemovableRow } from './removal.js';
import type { TopicIds } from './topic-ids.js';

/**
 * A deletion by selector, as the writer applies it. It travels through the shard's ring like a
 * frame of events, so it takes effect in ring order among the commits, inside one of their
 * transactions: a deterministic function of what the writer sees, as a replica needs.
 */
export interface DeleteCommand extends DeletionSelector {
  readonly kind: 'delete';
  /** Most rows one shard deletes for one command; the caller repeats the command while a shard hit it. */
  readonly limit: number;
  /** When the deletion was asked, ms since the epoch: the retirement time of what it removes. */
  readonly at: number;
}

/** Most rows one shard deletes per command: a deletion is one transaction among the commits, kept short. */
export const kDeletionLimit = 50_000;

/** Applies deletions inside the writer's transaction; `run` returns how many stored events it removed. */
export class Deletion {
  readonly #topicIds: TopicIds;
  readonly #removal: Removal;
  readonly #byId: Database.Statement<[number, string], RemovableRow>;
  readonly #oldest: Database.Statement<[number], RemovableRow>;
  readonly #unretire: Database.Statement<[number, string]>;

  constructor(db: Database.Database, topicIds: TopicIds, removal: Removal) {
    this.#topicIds = topicIds;
    this.#removal = removal;
    this.#byId = db.prepare(`SELECT ${removableColumns} FROM events WHERE topic_id = ? AND event_id = ?`);
    this.#oldest = db.prepare(`SELECT ${removableColumns} FROM events WHERE topic_id = ? ORDER BY seq`);
    this.#unretire = db.prepare('DELETE FROM retired WHERE topic_id = ? AND event_id = ?');
  }

  run(command: DeleteCommand): number {
    const topicId = this.#topicIds.find(command.topic);
    if (topicId === null) return 0;
    const doomed = command.eventIds ? this.#byIds(topicId, command) : this.#inRange(topicId, command);
    let freed = 0;
    for (const row of doomed) freed += this.#removal.remove(topicId, row, command.forget ? null : command.at);
    this.#removal.count('deleted', topicId, doomed.length, freed);
    return doomed.length;
  }

  #byIds(topicId: number, command: DeleteCommand): RemovableRow[] {
    const doomed: RemovableRow[] = [];
    for (const eventId of command.eventIds!) {
      // Forgetting also erases an identity whose row is already gone (expired or deleted before).
      if (command.forget) this.#unretire.run(topicId, eventId);
      const row = this.#byId.get(topicId, eventId);
      if (row !== undefined && doomed.length < command.limit) doomed.push(row);
    }
    return doomed;
  }

  /** Rows in seq order are in receive order: the scan stops at the first row past the range. */
  #inRange(topicId: number, command: DeleteCommand): RemovableRow[] {
    const doomed: RemovableRow[] = [];
    for (const row of this.#oldest.iterate(topicId)) {
      if (command.receivedTo !== null && row.received_at >= command.receivedTo) break;
      if (command.receivedFrom !== null && row.received_at < command.receivedFrom) continue;
      doomed.push(row);
      if (doomed.length >= command.limit) break;
    }
    return doomed;
  }
}
