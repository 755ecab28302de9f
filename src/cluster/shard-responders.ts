/**
 * Request/reply responders for the shards this node holds: one NATS subscription per shard in a
 * queue group named for its subject, so exactly one holder of the shard answers each request.
 * Verdict queries (verdict-relay.ts) and shard reads (shard-reads.ts) both answer this way.
 */
import type { Msg, NatsConnection, Subscription } from 'nats';

export class ShardResponders {
  readonly #nc: NatsConnection;
  readonly #subject: (shard: number) => string;
  readonly #answer: (shard: number, message: Msg) => void;
  readonly #subscriptions = new Map<number, Subscription>();

  /** `answer` responds to one request of `subject(shard)`. */
  constructor(nc: NatsConnection, subject: (shard: number) => string, answer: (shard: number, message: Msg) => void) {
    this.#nc = nc;
    this.#subject = subject;
    this.#answer = answer;
  }

  /** Starts (or stops) answering for `shard`; a repeat of the current state does nothing. */
  serve(shard: number, holding: boolean): void {
    const current = this.#subscriptions.get(shard);
    if (holding === (current !== undefined)) return;
    if (!holding) {
      current!.unsubscribe();
      this.#subscriptions.delete(shard);
      return;
    }
    const subject = this.#subject(shard);
    this.#subscriptions.set(
      shard,
      this.#nc.subscribe(subject, {
        queue: subject,
        callback: (error, message) => {
          if (!error) this.#answer(shard, message);
        },
      }),
    );
  }

  stop(): void {
    for (const subscription of this.#subscriptions.values()) subscription.unsubscribe();
    this.#subscriptions.clear();
  }
}
