/**
 * A shard file as a file: created complete or not at all, checked before SQLite sees it, brought
 * to this build's format, configured for the writer. `ShardDb` (shard-db.ts) is what writes in it.
 */
import { closeSync, existsSync, openSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { AggregatorError } from '../errors.js';
import { fsyncDirectory } from './data-dir.js';
import { createSchema, kFormatVersion, migrateFromFormat1, migrateFromFormat2 } from './tables.js';

/** What the file's meta must say. */
export interface ShardFileOptions {
  readonly path: string;
  readonly shard: number;
  readonly shardCount: number;
}

export function configure(db: Database.Database): void {
  db.pragma('journal_mode = WAL');
  // The writer never waits for the disk: a commit only writes its WAL frames, and the ingress
  // thread's syncer (workers/wal-syncer.ts) fsyncs the WAL off this path. NORMAL still syncs the
  // WAL before a checkpoint, the database file after it, and the WAL header when the WAL restarts,
  // so nothing SQLite writes outside our fsync can make a synced commit vanish.
  db.pragma('synchronous = NORMAL');
  db.pragma('cache_size = -65536'); // 64 MiB of page cache keeps the indexes hot as the shard grows
  db.pragma('temp_store = MEMORY');
}

/** Brings an older shard file to this build's format, every step in one transaction; a newer one is left for #checkMeta to refuse. */
export function migrate(db: Database.Database): void {
  const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").pluck().get() === 1;
  const format = hasMeta ? db.prepare("SELECT value FROM meta WHERE key = 'format_version'").pluck().get() : undefined;
  if (format !== 1 && format !== 2) return;
  db.transaction(() => {
    if (format === 1) db.exec(migrateFromFormat1);
    db.exec(migrateFromFormat2);
  }).immediate();
}

export function writeMeta(db: Database.Database, options: ShardFileOptions): void {
  const write = db.prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)');
  write.run('format_version', kFormatVersion);
  write.run('shard', options.shard);
  write.run('shard_count', options.shardCount);
}

/**
 * A new shard file is built under a temporary name and renamed into place, so a shard file that
 * exists is always a complete database: an empty or headerless one can only be damage, never a
 * creation that was interrupted, and is refused instead of being silently started afresh.
 */
export function createShardFile(options: ShardFileOptions): void {
  const building = `${options.path}.init`;
  const removeBuilding = (): void => {
    for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${building}${suffix}`, { force: true });
  };
  try {
    removeBuilding(); // left by a start that died half-way
    const db = new Database(building, { timeout: 0 });
    try {
      configure(db);
      // Before the first table: only a new file can be made to hand freed pages back (expiry).
      db.pragma('auto_vacuum = INCREMENTAL');
      db.exec(createSchema);
      writeMeta(db, options);
      db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      db.close(); // the last connection: SQLite folds the WAL into the file and deletes it
    }
    renameSync(building, options.path);
    fsyncDirectory(dirname(options.path));
  } catch (error) {
    removeBuilding();
    throw naming(options.path, error);
  }
}

const kSqliteMagic = 'SQLite format 3\0';

/**
 * Cheap start-up checks of an existing shard file, before SQLite sees it: SQLite would take an
 * empty file for a new database (the shard's events silently gone) and reports a damaged one as
 * "database disk image is malformed", without saying which file. Deeper damage (a bad page in the
 * middle) is only found when a commit or read touches it: the commit fails, the shard answers 503
 * and /health says why, so nothing is acknowledged that was not stored.
 */
export function checkShardFile(path: string): void {
  const size = statSync(path).size;
  const refuse = (why: string): never => {
    throw new AggregatorError('shard_file_damaged', `${path} ${why}; refusing to start on it (restore it from a backup, or move it away to start the shard empty)`);
  };
  if (size === 0) refuse('is empty (0 bytes): the shard file was truncated');
  const header = Buffer.alloc(100);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, header, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  if (size < 100 || header.toString('latin1', 0, 16) !== kSqliteMagic) refuse('is not a SQLite database (bad header)');
  const rawPageSize = header.readUInt16BE(16);
  const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
  if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) refuse(`has a bad page size in its header (${rawPageSize})`);
  // With WAL frames still to be checkpointed (after a crash) the file may legitimately lag its
  // header, and SQLite's recovery sorts it out; without them the file must hold every page.
  const walPath = `${path}-wal`;
  if (existsSync(walPath) && statSync(walPath).size > 0) return;
  if (size % pageSize !== 0) refuse(`is truncated: ${size} bytes is not a whole number of ${pageSize}-byte pages`);
  const headerPages = header.readUInt32BE(28);
  const headerPagesValid = headerPages > 0 && header.readUInt32BE(24) === header.readUInt32BE(92);
  if (headerPagesValid && size < headerPages * pageSize) refuse(`is truncated: ${size} bytes, its header says ${headerPages} pages of ${pageSize} bytes`);
}

/** A lower layer's error (SQLite's, the file system's) as ours, with the file's path in front, so a start-up refusal says which file. */
export function naming(path: string, error: unknown): AggregatorError {
  if (error instanceof AggregatorError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new AggregatorError('shard_unreadable', `${path}: ${message}`, { cause: error });
}
