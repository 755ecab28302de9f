import type Database from 'better-sqlite3';
import { Expiry } from './expiry.js';
import { Forgetting, type SweepCursor } from './forgetting.js';
import type { Removal } from './removal.js';
import { RetentionPolicy, shardShare, type RetentionRule } from './retention.js';

/**
 * Cluster mode's expiry: a command in the shard's log, sent by the shard's owner
 * (src/cluster/maintenance.ts), applied by every replica at the same log position inside the
 * commit's transaction. Everything it decides by travels in it: the owner's clock and its rules.
 */
export interface ExpireCommand {
  readonly kind: 'expire';
  /** The owner's clock, ms since the epoch: what is due is decided at it, and it is the retirement time. */
  readonly now: number;
  /** `--retention` and `--retention-bytes`, parsed, of the node that sent it (whole-topic sizes). */
  readonly retention: readonly RetentionRule[];
  /** `--forget-after` in ms, or null: never. */
  readonly forgetAfterMs: number | null;
  /**
   * Most rows this command expires: what is due goes in one transaction among the commits, kept
   * short like a deletion's; past it, the owner's next command goes on.
   */
  readonly limit: number;
  /** Keys of `retired` this command's sweep looks at, from where the last one stopped; 0: no sweep. */
  readonly forgetKeys: number;
}

/** The owners' `limit`: about a second of a writer's work at most. */
export const kExpireLimit = 50_000;

/**
 * Applies expire commands. Expiry runs to completion, or to the command's `limit`, always from the
 * first ruled topic's oldest row: what goes is a function of the rows and the command alone, and a
 * replica restored from a copy, or one whose writer applied other commands before, removes the
 * same rows as every other. The cursors the timer-driven slices keep in memory (embedded mode)
 * play no part. A repeated command, or one with an older `now` after a newer one, finds nothing
 * more to do than what was left by the limit.
 *
 * Forgetting cannot run to completion each time (a pass over `retired`, millions of keys, would
 * hold the shard's commit for seconds): each command sweeps a bounded slice, from a cursor kept in
 * the shard file's meta and moved in the same transaction. The cursor is part of the replicated
 * state, like the rows: the same on every replica at every log position, a restored copy included.
 */
export class LogExpiry {
  readonly #db: Database.Database;
  readonly #removal: Removal;
  readonly #shardCount: number;
  readonly #readCursor: Database.Statement<[], string | undefined>;
  readonly #saveCursor: Database.Statement<[string]>;
  readonly #dropCursor: Database.Statement;
  /** The Expiry for the last rules seen (they change only when the owner's configuration does). */
  #expiry: { readonly rules: string; readonly expiry: Expiry | null } | null = null;
  #forgetting: { readonly afterMs: number; readonly forgetting: Forgetting } | null = null;

  constructor(db: Database.Database, removal: Removal, shardCount: number) {
    this.#db = db;
    this.#removal = removal;
    this.#shardCount = shardCount;
    this.#readCursor = db.prepare<[], string | undefined>("SELECT value FROM meta WHERE key = 'forget_cursor'").pluck();
    this.#saveCursor = db.prepare<[string]>("INSERT OR REPLACE INTO meta (key, value) VALUES ('forget_cursor', ?)");
    this.#dropCursor = db.prepare("DELETE FROM meta WHERE key = 'forget_cursor'");
  }

  /** Inside a write transaction: returns what expired, by topic, and how many identities were forgotten. */
  run(command: ExpireCommand): { expired: Map<string, number>; forgotten: number } {
    // A clock that is no number would make every row due: such a command (never sent) does nothing, on every replica alike.
    if (!Number.isSafeInteger(command.now) || !Number.isSafeInteger(command.limit) || !Array.isArray(command.retention)) return { expired: new Map(), forgotten: 0 };
    const expired = this.#expiryFor(command.retention)?.drain(command.now, command.limit) ?? new Map<string, number>();
    const sweeps = command.forgetAfterMs !== null && command.forgetAfterMs > 0 && Number.isSafeInteger(command.forgetKeys) && command.forgetKeys > 0;
    return { expired, forgotten: sweeps ? this.#sweep(command.now, command.forgetAfterMs!, command.forgetKeys) : 0 };
  }

  /** The commit rolled back: topics the cached Expiry learned inside it are gone, and their ids may be reused. */
  rollBack(): void {
    this.#expiry = null;
  }

  #sweep(now: number, afterMs: number, keys: number): number {
    const text = this.#readCursor.get();
    const cursor = text === undefined ? null : (JSON.parse(text) as SweepCursor);
    const { erased, next } = this.#forgettingFor(afterMs).slice(now, cursor, keys);
    if (next) this.#saveCursor.run(JSON.stringify(next));
    else if (cursor) this.#dropCursor.run();
    return erased;
  }

  #expiryFor(retention: readonly RetentionRule[]): Expiry | null {
    const rules = JSON.stringify(retention);
    if (this.#expiry?.rules !== rules) {
      const policy = new RetentionPolicy(shardShare(retention, this.#shardCount));
      this.#expiry = { rules, expiry: policy.active ? new Expiry(this.#db, policy, this.#removal) : null };
    }
    return this.#expiry.expiry;
  }

  #forgettingFor(afterMs: number): Forgetting {
    if (this.#forgetting?.afterMs !== afterMs) this.#forgetting = { afterMs, forgetting: new Forgetting(this.#db, afterMs) };
    return this.#forgetting.forgetting;
  }
}
