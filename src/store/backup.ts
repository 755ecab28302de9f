/**
 * Online backup and restore of a data dir. A backup copies each shard with `VACUUM INTO` on a
 * read-only connection: one read transaction, so one consistent snapshot of the shard (its rows
 * and its counters together), taken while the service goes on committing (WAL readers do not block
 * the writer). Every event acknowledged before the backup began is in it. The manifest is written
 * last: a backup cut short has none, and `restore` refuses it.
 */
import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError } from '../errors.js';
import { fsyncDirectory, kManifest, readManifest, shardPath } from './data-dir.js';

export interface CopyResult {
  readonly shards: number;
  readonly bytes: number;
  readonly milliseconds: number;
}

export function backupDataDir(dataDir: string, target: string): CopyResult {
  const started = performance.now();
  const manifest = readManifest(join(dataDir, kManifest));
  prepareEmptyDir(target, 'the backup target');
  const bytes = writeDataDir(dataDir, target, manifest.shards, (from, to) => readOnly(from, (db) => db.prepare('VACUUM INTO ?').run(to)));
  return { shards: manifest.shards, bytes, milliseconds: performance.now() - started };
}

/** Into an empty (or new) data dir only; every shard file of the backup is checked first. */
export function restoreDataDir(backup: string, dataDir: string): CopyResult {
  const started = performance.now();
  if (!existsSync(join(backup, kManifest))) throw new ConfigError(`${backup} is not a complete backup: it has no ${kManifest} (a backup writes it last)`);
  const manifest = readManifest(join(backup, kManifest));
  for (let shard = 0; shard < manifest.shards; shard++) {
    const path = shardPath(backup, shard);
    if (!existsSync(path)) throw new ConfigError(`${backup} is not a complete backup: ${path} is missing`);
    const verdict = readOnly(path, (db) => db.pragma('quick_check', { simple: true }));
    if (verdict !== 'ok') throw new ConfigError(`${path} is damaged (${String(verdict)}); not restoring`);
  }
  prepareEmptyDir(dataDir, 'the data dir to restore into');
  const bytes = writeDataDir(backup, dataDir, manifest.shards, (from, to) => copyFileSync(from, to));
  return { shards: manifest.shards, bytes, milliseconds: performance.now() - started };
}

/**
 * Writes every shard file of `to` from `from` (`writeShard`), fsyncs them, then the manifest last:
 * a copy cut short has no manifest. Returns the shard files' bytes.
 */
function writeDataDir(from: string, to: string, shards: number, writeShard: (from: string, to: string) => void): number {
  let bytes = 0;
  for (let shard = 0; shard < shards; shard++) {
    writeShard(shardPath(from, shard), shardPath(to, shard));
    bytes += durable(shardPath(to, shard));
  }
  fsyncDirectory(to);
  copyFileSync(join(from, kManifest), join(to, kManifest));
  durable(join(to, kManifest));
  fsyncDirectory(to);
  return bytes;
}

function readOnly<T>(path: string, use: (db: Database.Database) => T): T {
  const db = new Database(path, { readonly: true, fileMustExist: true, timeout: 5000 });
  try {
    return use(db);
  } finally {
    db.close();
  }
}

/** fsyncs a file written here (copyFile and VACUUM INTO do not) and returns its size. */
function durable(path: string): number {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return statSync(path).size;
}

function prepareEmptyDir(dir: string, what: string): void {
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new ConfigError(`${what} ${dir} is not empty`);
  mkdirSync(dir, { recursive: true });
}
