import type Database from 'better-sqlite3';
import type { GroupCommand, GroupReply } from '../groups/model.js';
import { Deletion, type DeleteCommand } from './deletion.js';
import { GroupStore } from './groups.js';
import { LogExpiry, type ExpireCommand } from './log-expiry.js';
import type { Removal } from './removal.js';
import type { TopicIds } from './topic-ids.js';

/** What a command frame carries in place of events: a deletion, a consumer group's step, or (cluster mode) an expiry. */
export type ShardCommand = DeleteCommand | ExpireCommand | GroupCommand;

/** What one command removed, by topic, added to the commit's tallies. */
export interface CommandLosses {
  readonly deleted: Map<string, number>;
  readonly expired: Map<string, number>;
}

/** Runs the commands of a commit inside its transaction, at their place among its batches. */
export class ShardCommands {
  readonly #deletion: Deletion;
  readonly #expiry: LogExpiry;
  readonly #groups: GroupStore;

  constructor(db: Database.Database, topicIds: TopicIds, removal: Removal, shardCount: number) {
    this.#deletion = new Deletion(db, topicIds, removal);
    this.#expiry = new LogExpiry(db, removal, shardCount);
    this.#groups = new GroupStore(db);
  }

  /** The commit rolled back: nothing learned inside it may be kept. */
  rollBack(): void {
    this.#expiry.rollBack();
    this.#groups.rollBack();
  }

  /** Returns how many stored events (and, for an expiry, forgotten identities) the command removed, and whether it retired identities. */
  run(command: ShardCommand, losses: CommandLosses): { readonly count: number; readonly retired: boolean; readonly reply?: GroupReply } {
    if (command.kind === 'expire') {
      const { expired, forgotten } = this.#expiry.run(command);
      let count = 0;
      for (const [topic, removed] of expired) {
        losses.expired.set(topic, (losses.expired.get(topic) ?? 0) + removed);
        count += removed;
      }
      // The count goes back to the owner only: it keeps its beat while there is work (maintenance.ts).
      return { count: count + forgotten, retired: count > 0 };
    }
    if (command.kind !== 'delete') return { count: 0, retired: false, reply: this.#groups.run(command) };
    const count = this.#deletion.run(command);
    if (count > 0) losses.deleted.set(command.topic, (losses.deleted.get(command.topic) ?? 0) + count);
    return { count, retired: count > 0 && !command.forget };
  }
}
