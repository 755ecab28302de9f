/**
 * Where a publishing node waits for the outcome of its own log messages. A node that holds a
 * replica of the shard applies its message too: its verdicts (stored or duplicate per event, a
 * function of the log alone) are the ones every replica computes, and arrive here from its own
 * shard host. A node that holds none gets them pushed by the replicas, or asks (verdict-relay.ts).
 * A waiter is registered before the message is published, so an apply that beats the PubAck
 * still finds it.
 */
import type { GroupReply } from '../groups/model.js';
import { OverloadedError } from '../errors.js';

/** What applying one message gave: per event 1 stored / 0 duplicate, and the count of new rows (or, for a deletion, rows removed). */
export interface AppliedMessage {
  readonly inserted: number;
  readonly statuses: Uint8Array;
  /** A consumer group command's answer. */
  readonly reply?: GroupReply;
}

interface Waiter {
  readonly resolve: (applied: AppliedMessage) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

export class VerdictBoard {
  readonly #waiting = new Map<string, Waiter>();

  /** A promise of the message's outcome once this node applied it; rejects with `overloaded` past `timeoutMs`. */
  expect(msgId: string, timeoutMs: number): Promise<AppliedMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(msgId);
        reject(new OverloadedError(`this node did not apply its log message within ${timeoutMs} ms; nothing acknowledged`));
      }, timeoutMs);
      this.#waiting.set(msgId, { resolve, reject, timer });
    });
  }

  /** The shard host applied a message: settles its waiter, if this node published it. */
  applied(msgId: string, outcome: AppliedMessage): void {
    const waiter = this.#waiting.get(msgId);
    if (!waiter) return;
    this.#waiting.delete(msgId);
    clearTimeout(waiter.timer);
    waiter.resolve(outcome);
  }

  /** The publish failed: nobody waits for this message any more. */
  forget(msgId: string): void {
    const waiter = this.#waiting.get(msgId);
    if (!waiter) return;
    this.#waiting.delete(msgId);
    clearTimeout(waiter.timer);
  }

  /** Whether this node still waits for the message's outcome. */
  waiting(msgId: string): boolean {
    return this.#waiting.has(msgId);
  }

  /** Fails one waiter: its outcome cannot be learnt. */
  reject(msgId: string, message: string): void {
    const waiter = this.#waiting.get(msgId);
    if (!waiter) return;
    this.#waiting.delete(msgId);
    clearTimeout(waiter.timer);
    waiter.reject(new OverloadedError(message));
  }

  /** Fails every waiter (the node is stopping). */
  failAll(message: string): void {
    for (const [msgId, waiter] of this.#waiting) {
      clearTimeout(waiter.timer);
      waiter.reject(new OverloadedError(message));
      this.#waiting.delete(msgId);
    }
  }

  get size(): number {
    return this.#waiting.size;
  }
}
