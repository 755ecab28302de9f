import { statfs } from 'node:fs/promises';
import type { DiskReading } from '../ingest/storage.js';

const kCheckIntervalMs = 500;

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/**
 * The free-disk floor of the data dir (`--min-free-bytes`): the file system is asked twice a
 * second, off the hot path, and while it is below the floor `problem` says so. Ingest refuses
 * writes with 503 `disk_full` meanwhile (reads go on, and expiry keeps freeing space), and takes
 * them again by itself once space comes back: SQLite never meets a full disk in the middle of a
 * commit, which it would answer by failing the shard.
 */
export class DiskFloor {
  readonly #dir: string;
  readonly #minFreeBytes: number;
  readonly #timer: NodeJS.Timeout;
  #problem: string | null = null;
  #freeBytes: number | null = null;

  private constructor(dir: string, minFreeBytes: number) {
    this.#dir = dir;
    this.#minFreeBytes = minFreeBytes;
    // Watched with no floor too: the free space is a metric (an alert fires before the floor does).
    this.#timer = setInterval(() => void this.#check(), kCheckIntervalMs).unref();
  }

  /** Starts watching; resolves after the first look, so the service never starts on a full disk unawares. */
  static async watch(dir: string, minFreeBytes: number): Promise<DiskFloor> {
    const floor = new DiskFloor(dir, minFreeBytes);
    await floor.#check();
    return floor;
  }

  /** Why writes are refused now, or null. */
  get problem(): string | null {
    return this.#problem;
  }

  /** The last reading: free bytes for this user (null when it could not be read), and the floor (0: none). */
  get reading(): DiskReading {
    return { free_bytes: this.#freeBytes, min_free_bytes: this.#minFreeBytes };
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #check(): Promise<void> {
    try {
      const { bavail, bsize } = await statfs(this.#dir);
      const free = bavail * bsize;
      this.#freeBytes = free;
      this.#problem = free < this.#minFreeBytes ? `disk_full: ${mib(free)} free on ${this.#dir}, below the --min-free-bytes floor of ${mib(this.#minFreeBytes)}` : null;
    } catch (error) {
      this.#freeBytes = null;
      this.#problem = this.#minFreeBytes > 0 ? `disk_full: cannot read the free space of ${this.#dir}: ${(error as Error).message}` : null;
    }
  }
}
