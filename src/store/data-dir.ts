import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';

export const kManifest = 'aggregator.json';
/** The data dir's layout (the manifest, one file per shard); the rows' format is each shard's own (store/tables.ts). */
const kLayoutVersion = 1;
const kLock = 'aggregator.lock';
const shardFilePattern = /^shard-\d+\.db$/;

interface Manifest {
  readonly format: number;
  readonly shards: number;
  readonly created_at: string;
}

export function shardPath(dataDir: string, shard: number): string {
  return join(dataDir, `shard-${String(shard).padStart(3, '0')}.db`);
}

/**
 * Makes sure `dataDir` fits `shards` before anything opens a database in it. A data dir created with
 * another shard count is refused untouched: its keys were routed by that count, and reading it with
 * another one would silently break dedup. Re-sharding is a separate, explicit operation.
 */
export function prepareDataDir(dataDir: string, shards: number): void {
  try {
    const created = mkdirSync(dataDir, { recursive: true });
    // A new directory's name is its parent's data: synced, or a power cut could take the whole dir.
    if (created !== undefined) {
      for (let dir = resolve(dataDir); dir !== dirname(dir); dir = dirname(dir)) {
        fsyncDirectory(dirname(dir));
        if (dir === resolve(created)) break;
      }
    }
  } catch (error) {
    throw new ConfigError(`--data-dir ${dataDir} cannot be created: ${(error as Error).message}`);
  }
  const manifestPath = join(dataDir, kManifest);
  if (existsSync(manifestPath)) {
    const manifest = readManifest(manifestPath);
    if (manifest.shards !== shards) {
      throw new ConfigError(
        `data dir ${dataDir} was created with ${manifest.shards} shards but --shards is ${shards}; ` +
          `start with --shards ${manifest.shards} (re-sharding is a separate operation)`,
      );
    }
    if (manifest.format !== kLayoutVersion) {
      throw new ConfigError(`data dir ${dataDir} has format ${manifest.format}; this build reads format ${kLayoutVersion}`);
    }
    return;
  }
  const strays = readdirSync(dataDir).filter((name) => shardFilePattern.test(name));
  if (strays.length > 0) {
    throw new ConfigError(`data dir ${dataDir} holds ${strays.length} shard file(s) but no ${kManifest}; refusing to guess its shard count`);
  }
  const manifest: Manifest = { format: kLayoutVersion, shards, created_at: new Date().toISOString() };
  try {
    // Durable before it is visible: without the fsyncs a crash of the machine (or the file system
    // going read-only) soon after can leave an empty aggregator.json, and the dir refuses to start.
    writeFileDurably(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  } catch (error) {
    throw new ConfigError(`--data-dir ${dataDir} is not writable: ${(error as Error).message}`);
  }
}

/**
 * One process per data dir: two would be two writers per shard. The lock file holds the owner's pid;
 * a lock whose pid is gone (the owner was killed) is taken over.
 */
export function lockDataDir(dataDir: string): () => void {
  const lockPath = join(dataDir, kLock);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(lockPath, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new ConfigError(`--data-dir ${dataDir} is not writable: ${(error as Error).message}`);
      }
      const owner = Number(readFileSync(lockPath, 'utf8'));
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new ConfigError(`data dir ${dataDir} is in use by process ${owner}`);
      }
      rmSync(lockPath, { force: true });
    }
  }
  throw new ConfigError(`data dir ${dataDir}: could not take ${kLock}`);
}

/**
 * Replaces `path` with `text` so that a power cut leaves either the old file or the new one, both
 * whole: written under a temporary name and fsynced, renamed over, and the directory fsynced.
 */
export function writeFileDurably(path: string, text: string): void {
  const temporary = `${path}.tmp`;
  const fd = openSync(temporary, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
  fsyncDirectory(dirname(path));
}

/** Makes a directory's entries (a rename, a new file) durable. */
export function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function readManifest(path: string): Manifest {
  try {
    const manifest = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
    if (!Number.isInteger(manifest.shards) || manifest.shards < 1) throw new ConfigError('no valid "shards" field');
    return manifest;
  } catch (error) {
    throw new ConfigError(`${path} is unreadable: ${(error as Error).message}`);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
