/**
 * The cluster ingress's write into a shard's stream (../shared/spec/cluster.md §2.2–2.3): each
 * message gets a `Nats-Msg-Id` made of a NUID fresh per process start and a counter, so an id is
 * never reused across restarts (a reused id inside the duplicate window would be dropped as a
 * duplicate, acknowledging events never logged), and a failed or timed-out publish is retried with
 * the same id until a deadline inside the window: the stream stores it once whichever attempt
 * landed. The PubAck is the durable point. Past the deadline the request gets a 503.
 */
import { randomUUID } from 'node:crypto';
import type { JetStreamClient, MsgHdrs, PubAck } from 'nats';
import { OverloadedError } from '../errors.js';

export interface StreamPublisherOptions {
  /** Give up after this long (well inside the stream's duplicate window, 2 min). */
  readonly deadlineMs: number;
  /** One attempt's wait for its PubAck. */
  readonly attemptTimeoutMs: number;
  /** Pause between attempts. */
  readonly retryMs: number;
}

export interface Published {
  readonly msgId: string;
  /** The message's position in the stream: what the shard replicas apply it as. */
  readonly seq: number;
  /** The stream already had this id (an earlier attempt landed): stored once all the same. */
  readonly duplicate: boolean;
  readonly attempts: number;
}

export class StreamPublisher {
  readonly #js: JetStreamClient;
  readonly #options: StreamPublisherOptions;
  /** This process's id prefix: fresh at every start. */
  readonly nodeNuid = randomUUID().replaceAll('-', '');
  #counter = 0;
  /** performance.now() of the last PubAck: JetStream took a write. */
  lastAckAt = Number.NEGATIVE_INFINITY;

  constructor(js: JetStreamClient, options: StreamPublisherOptions) {
    this.#js = js;
    this.#options = options;
  }

  /** Publishes one message under a new id, retrying with that id until acknowledged or past the deadline. */
  publish(subject: string, data: Uint8Array, headers?: MsgHdrs): Promise<Published> {
    return this.publishAs(this.nextMsgId(), subject, data, headers);
  }

  /** A message id never used before by any process: this start's NUID and a counter. */
  nextMsgId(): string {
    return `${this.nodeNuid}:${++this.#counter}`;
  }

  /**
   * The same with a given id: for a retry whose first answer was lost. The deadline counts from
   * `since` (performance.now(); default now): a message that gathered requests while earlier ones
   * were out starts its clock at the first of them, so a request waits one deadline, not one per
   * message ahead of it. At least one attempt is made whatever the time.
   */
  async publishAs(msgId: string, subject: string, data: Uint8Array, headers?: MsgHdrs, since = performance.now()): Promise<Published> {
    const deadline = since + this.#options.deadlineMs;
    for (let attempts = 1; ; attempts++) {
      let ack: PubAck;
      try {
        ack = await this.#js.publish(subject, data, { msgID: msgId, timeout: this.#options.attemptTimeoutMs, ...(headers ? { headers } : {}) });
      } catch (error) {
        if (performance.now() + this.#options.retryMs >= deadline) {
          throw new OverloadedError(`the shard log did not acknowledge within ${this.#options.deadlineMs} ms (${(error as Error).message}); nothing acknowledged`);
        }
        await new Promise((resolve) => setTimeout(resolve, this.#options.retryMs));
        continue;
      }
      this.lastAckAt = performance.now();
      return { msgId, seq: ack.seq, duplicate: ack.duplicate, attempts };
    }
  }
}
