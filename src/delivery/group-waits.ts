/**
 * Fetches waiting for messages, by group. A wait ends when it is woken (new events committed, a
 * group's messages acked or nak'd, the group changed) or when its time is up, whichever is first;
 * the fetch then asks the shards again.
 */
export class GroupWaits {
  readonly #waiting = new Map<string, Set<() => void>>();

  wait(name: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let waiters = this.#waiting.get(name);
      if (!waiters) this.#waiting.set(name, (waiters = new Set()));
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0 && this.#waiting.get(name) === waiters) this.#waiting.delete(name);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waiters.add(done);
    });
  }

  wake(name: string): void {
    for (const done of [...(this.#waiting.get(name) ?? [])]) done();
  }

  wakeAll(): void {
    for (const name of [...this.#waiting.keys()]) this.wake(name);
  }
}
