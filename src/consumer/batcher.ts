/**
 * Gathers message ids into batches for one settle route (ack, nak…): a batch leaves when it holds
 * `maxIds`, or `lingerMs` after its first id, whichever comes first. One request is in flight at a
 * time; ids that arrive meanwhile form the next batch, so a slow server gets fewer, bigger requests
 * instead of a pile of small concurrent ones.
 */
export interface BatcherOptions {
  readonly maxIds: number;
  readonly lingerMs: number;
  /** Sends one batch; resolves once the server answered (after its own retries). */
  readonly send: (ids: string[]) => Promise<void>;
  /** A batch finally failed; the batcher drops what it holds (the server redelivers it later). */
  readonly onError: (error: unknown) => void;
}

export class Batcher {
  readonly #options: BatcherOptions;
  // A Set: the same id twice in one batch would only earn an `already_acked` for the second.
  readonly #queue = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #sending: Promise<void> | null = null;

  constructor(options: BatcherOptions) {
    this.#options = options;
  }

  get queued(): number {
    return this.#queue.size;
  }

  add(id: string): void {
    this.#queue.add(id);
    if (this.#queue.size >= this.#options.maxIds) this.#kick();
    else this.#timer ??= setTimeout(() => this.#kick(), this.#options.lingerMs);
  }

  /** Sends everything queued, including what is added while this runs, and waits for the answers. */
  async flush(): Promise<void> {
    while (this.#queue.size > 0 || this.#sending) {
      this.#kick();
      await this.#sending;
    }
  }

  #kick(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#sending || this.#queue.size === 0) return;
    // Cleared in a .finally, which always runs after this assignment, even if the drain ends at once.
    this.#sending = this.#drain().finally(() => {
      this.#sending = null;
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.size > 0) {
      const ids = [...this.#queue].slice(0, this.#options.maxIds);
      for (const id of ids) this.#queue.delete(id);
      try {
        await this.#options.send(ids);
      } catch (error) {
        this.#queue.clear();
        this.#options.onError(error);
      }
    }
  }
}
