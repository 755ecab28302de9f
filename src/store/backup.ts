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
  let bytes = 0;
  for (let shard = 0; shard < manifest.shards; shard++) {
    const db = new Database(shardPath(dataDir, shard), { readonly: true, fileMustExist: true, timeout: 5000 });
    try {
      db.prepare('VACUUM INTO ?').run(shardPath(target, shard));
    } finally {
      db.close();
    }
    bytes += durable(shardPath(target, shard));
  }
  fsyncDirectory(target);
  copyFileSync(join(dataDir, kManifest), join(target, kManifest));
  durable(join(target, kManifest));
  fsyncDirectory(target);
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
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      const verdict = db.pragma('quick_check', { simple: true });
      if (verdict !== 'ok') throw new ConfigError(`${path} is damaged (${String(verdict)}); not restoring`);
    } finally {
      db.close();
    }
  }
  prepareEmptyDir(dataDir, 'the data dir to restore into');
  let bytes = 0;
  for (let shard = 0; shard < manifest.shards; shard++) {
    copyFileSync(shardPath(backup, shard), shardPath(dataDir, shard));
    bytes += durable(shardPath(dataDir, shard));
  }
  fsyncDirectory(dataDir);
  copyFileSync(join(backup, kManifest), join(dataDir, kManifest));
  durable(join(dataDir, kManifest));
  fsyncDirectory(dataDir);
  return { shards: manifest.shards, bytes, milliseconds: performance.now() - started };
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
