/**
 * Makes one shard's commits durable without its writer waiting for the disk. The writer commits
 * with `synchronous = NORMAL` (its WAL frames written, not fsynced); this object, on the ingress
 * thread, fdatasyncs the shard's WAL file through libuv's thread pool. `sync()` resolves once an
 * fdatasync that *began after the call* has returned, so it covers every commit whose completion
 * record arrived before the call; calls made while fdatasyncs run share the next one (group commit
 * of fsyncs: under load one fsync covers many commits, and the writer keeps committing meanwhile).
 *
 * Why the WAL alone: in WAL mode a commit is its WAL frames. The database file is written only by
 * checkpoints, which under NORMAL sync the WAL before and the database file after, and the WAL is
 * restarted (its header rewritten, and synced under NORMAL) only once a checkpoint has copied
 * every frame. The `-shm` index is rebuilt from the WAL after a crash. The WAL's directory entry is
 * synced once per file we open, so a WAL created by this writer cannot vanish with its name.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/** `full`: a 200 after its fsync; `interval`: a 200 at commit, fsynced within the interval; `normal`: SQLite's own checkpoint syncs only. */
export type SyncMode = 'full' | 'interval' | 'normal';

export interface Durability {
  readonly mode: SyncMode;
  /** `interval`: the longest a commit waits for its fsync, ms. */
  readonly intervalMs: number;
}

interface Group {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

function group(): Group {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

/**
 * How many fdatasyncs of one WAL may run at once. A commit that lands while one runs need not wait
 * for it to end before its own begins: measured here, two or three overlapping fdatasyncs of one
 * file each return about as fast as one alone, so at light load a request waits for one fsync,
 * not one and a half. Node's pool has 4 threads (UV_THREADPOOL_SIZE), shared by every shard and
 * by body inflation: with many shards, fsyncs queue there.
 */
const kMaxInFlight = 2;

export class WalSyncer {
  readonly #walPath: string;
  #handle: FileHandle | null = null;
  /** Set when the writer reopened its database: the WAL may be a new file by now. */
  #reopen = false;
  /** The callers waiting for the next fdatasync to begin. */
  #next: Group | null = null;
  /** The groups whose fdatasync runs, oldest first: a later one returning covers the earlier ones too. */
  readonly #running: Group[] = [];
  readonly #idle: (() => void)[] = [];
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  readonly #onSynced: (milliseconds: number) => void;

  /** `onSynced`: the time of each fdatasync that returned, for the metrics. */
  constructor(databasePath: string, onSynced: (milliseconds: number) => void = () => {}) {
    this.#walPath = `${databasePath}-wal`;
    this.#onSynced = onSynced;
  }

  /** Resolves once an fdatasync of the WAL that began after this call has returned; rejects with its error. */
  sync(): Promise<void> {
    this.#next ??= group();
    const waiting = this.#next.promise;
    this.#startIfRoom();
    return waiting;
  }

  /** `interval` mode: an fdatasync begins within `ms` (one timer at a time); its failure goes to `onError`. */
  syncWithin(ms: number, onError: (error: unknown) => void): void {
    if (this.#timer !== null || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.sync().catch(onError);
    }, ms);
  }

  /** The writer (re)opened its database: take the WAL file anew at the next fdatasync. */
  writerReopened(): void {
    this.#reopen = true;
  }

  /** Waits for the fdatasyncs in flight and lets go of the file; later calls still sync (a last flush may need it). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    while (this.#running.length > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    await this.#handle?.close();
    this.#handle = null;
  }

  #startIfRoom(): void {
    if (this.#next === null || this.#running.length >= kMaxInFlight) return;
    // Opening (or reopening) the file is done by one fdatasync alone.
    if (this.#running.length > 0 && (this.#handle === null || this.#reopen)) return;
    const waiting = this.#next;
    this.#next = null;
    this.#running.push(waiting);
    this.#datasync().then(
      () => {
        // Everything started before this one is covered by it as well.
        const covered = this.#running.splice(0, this.#running.indexOf(waiting) + 1);
        for (const done of covered) done.resolve();
        this.#ended();
      },
      (error: unknown) => {
        const index = this.#running.indexOf(waiting);
        if (index >= 0) this.#running.splice(index, 1); // else a later fdatasync already covered it
        waiting.reject(error);
        this.#ended();
      },
    );
  }

  #ended(): void {
    if (this.#running.length === 0) for (const resolve of this.#idle.splice(0)) resolve();
    this.#startIfRoom();
  }

  async #datasync(): Promise<void> {
    if (this.#reopen) {
      this.#reopen = false;
      // Let go of the old handle before awaiting its close: a sync that starts meanwhile must see no
      // handle (and wait for this one, #startIfRoom), never fsync one that is being closed (EBADF).
      const old = this.#handle;
      this.#handle = null;
      await old?.close();
    }
    if (this.#handle === null) {
      let handle: FileHandle;
      try {
        handle = await open(this.#walPath, 'r');
      } catch (error) {
        // No WAL: SQLite deletes it only after checkpointing all of it into the (synced) database file.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      const directory = await open(dirname(this.#walPath), 'r');
      try {
        await directory.sync();
      } finally {
        await directory.close();
      }
      this.#handle = handle;
    }
    const started = performance.now();
    await this.#handle.datasync();
    this.#onSynced(performance.now() - started);
  }
}
