import Database from 'better-sqlite3';
import { shardPath } from './data-dir.js';

/**
 * A reader thread's read-only connection to every shard, with each shard's statements prepared
 * once by SQL text. WAL lets these read while the writers commit.
 */
export class ShardReaders {
  readonly #databases: Database.Database[] = [];
  readonly #statements: Map<string, Database.Statement>[] = [];

  constructor(dataDir: string, shardCount: number) {
    for (let shard = 0; shard < shardCount; shard++) {
      this.#databases.push(new Database(shardPath(dataDir, shard), { readonly: true, fileMustExist: true, timeout: 5000 }));
      this.#statements.push(new Map());
    }
  }

  get count(): number {
    return this.#databases.length;
  }

  prepare(shard: number, sql: string): Database.Statement {
    const statements = this.#statements[shard]!;
    let statement = statements.get(sql);
    if (!statement) {
      statement = this.#databases[shard]!.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs `read` in one read transaction of the shard: every statement in it sees the same snapshot. */
  snapshot<T>(shard: number, read: () => T): T {
    return this.#databases[shard]!.transaction(read).deferred();
  }

  close(): void {
    for (const db of this.#databases) db.close();
  }
}
