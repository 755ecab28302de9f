/**
 * When one shard's commits may be acknowledged (`--sync`): `after(committed, failed)` runs
 * `committed` once the commit is as durable as the mode asks — after an fdatasync of the WAL that
 * began after the commit's record arrived (full), or at once with an fdatasync due within the
 * interval (interval), or at once (normal). A failed fdatasync fails what it was to cover
 * (503; a retry is deduplicated) and holds the shard's writes off until an fdatasync succeeds
 * again, retried every --shard-retry-ms. The writer goes on committing meanwhile; each commit
 * waits for an fdatasync of its own.
 */
import { OverloadedError } from '../errors.js';
import { WalSyncer, type Durability } from './wal-syncer.js';

export interface DurableCommitsOptions {
  /** `shard k`: how the refusals name the shard. */
  readonly label: string;
  readonly durability: Durability;
  readonly retryMs: number;
  /** Once per fdatasync of the WAL that returned, with its time. */
  readonly onSynced: (milliseconds: number) => void;
  /** Once when fdatasyncs start failing (not again until one succeeded). */
  readonly onFailure: (message: string) => void;
  /** Whether the shard is shutting down: no retry is scheduled then. */
  readonly closing: () => boolean;
  /** A wait for an fdatasync ended: an idle wait may be over. */
  readonly settled: () => void;
}

export class DurableCommits {
  readonly #syncer: WalSyncer;
  readonly #options: DurableCommitsOptions;
  /** Commits waiting for their fdatasync (--sync full). */
  #waiting = 0;
  /** Why the shard's commits cannot be made durable, until an fdatasync succeeds again. */
  #failure: string | null = null;
  /** The fdatasync retried after a failure, while one is scheduled. */
  #retry: NodeJS.Timeout | null = null;

  constructor(walOwner: string, options: DurableCommitsOptions) {
    this.#syncer = new WalSyncer(walOwner, options.onSynced);
    this.#options = options;
  }

  get waiting(): number {
    return this.#waiting;
  }

  get failure(): string | null {
    return this.#failure;
  }

  /** A new writer loop opened the file: the next sync looks at the WAL afresh. */
  writerReopened(): void {
    this.#syncer.writerReopened();
  }

  /** Runs `committed` once the commit whose record just arrived is as durable as `--sync` asks; `failed` if it cannot be made so. */
  after(committed: () => void, failed: (error: OverloadedError) => void): void {
    const { mode, intervalMs } = this.#options.durability;
    if (mode !== 'full') {
      committed();
      if (mode === 'interval') this.#syncer.syncWithin(intervalMs, (error) => this.#failed(null, error));
      return;
    }
    this.#waiting++;
    this.#syncer
      .sync()
      .then(
        () => {
          this.#failure = null;
          committed();
        },
        (error: unknown) => this.#failed(failed, error),
      )
      .finally(() => {
        this.#waiting--;
        this.#options.settled();
      });
  }

  async close(): Promise<void> {
    if (this.#retry !== null) clearTimeout(this.#retry);
    this.#retry = null;
    await this.#syncer.close();
  }

  #failed(failed: ((error: OverloadedError) => void) | null, error: unknown): void {
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    const message = `cannot make its commits durable (${code}): fsync of the WAL failed: ${(error as Error).message}`;
    if (this.#failure === null) this.#options.onFailure(message);
    this.#failure = message;
    failed?.(new OverloadedError(`${this.#options.label} ${message}`));
    if (this.#retry !== null || this.#options.closing()) return;
    this.#retry = setTimeout(() => {
      this.#retry = null;
      this.#syncer.sync().then(
        () => {
          this.#failure = null;
        },
        (retryError: unknown) => this.#failed(null, retryError),
      );
    }, this.#options.retryMs);
    this.#retry.unref();
  }
}
