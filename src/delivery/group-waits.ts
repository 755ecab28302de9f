/**
 * Fetches waiting for messages, by group. A wait ends when it is woken (new events committed, a
 * group's messages acked or nak'd, the group changed) or when its time is up, whichever is first;
 * the fetch then asks the shards again.
 *
 * Every commit advances the watermark, and each woken fetch costs a command per shard: so a commit
 * wakes at most a few fetches of a group, and a group at most once per kCommitWakeMs. The rest
 * look again at their next wake or their time, never later than the caller's recheck bound.
 */
const kCommitWakeMs = 5;
const kCommitWakes = 4;

export class GroupWaits {
  readonly #waiting = new Map<string, Set<() => void>>();
  readonly #lastCommitWake = new Map<string, number>();

  wait(name: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let waiters = this.#waiting.get(name);
      if (!waiters) this.#waiting.set(name, (waiters = new Set()));
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0 && this.#waiting.get(name) === waiters) {
          this.#waiting.delete(name);
          this.#lastCommitWake.delete(name);
        }
        resolve();
      };
      const timer = setTimeout(done, ms);
      waiters.add(done);
    });
  }

  /** Every waiting fetch of the group: its state changed (room freed, redefined, deleted). */
  wake(name: string): void {
    for (const done of [...(this.#waiting.get(name) ?? [])]) done();
  }

  /** Events were committed: a few of each group's waiting fetches (the longest waiting) look again. */
  committed(): void {
    const now = performance.now();
    for (const [name, waiters] of this.#waiting) {
      if (now - (this.#lastCommitWake.get(name) ?? -Infinity) < kCommitWakeMs) continue;
      this.#lastCommitWake.set(name, now);
      for (const done of [...waiters].slice(0, kCommitWakes)) done();
    }
  }

  wakeAll(): void {
    for (const name of [...this.#waiting.keys()]) this.wake(name);
  }
}
