/**
 * Verdicts across nodes (../shared/spec/cluster.md §2.5–2.6), for a publishing node that holds no
 * caught-up replica of the shard (`--replicas` below the node count). Its message carries
 * `agg-reply: agg.v.<nuid>`; every replica that applies it pushes the outcome there, and the
 * first to arrive settles the request (they are equal: the apply is a function of the log). A push
 * is fire-and-forget, so a publisher that has its PubAck and no verdict after `kQueryAfterMs` asks
 * `agg.q.<shard>`: a replica answers from the outcomes it recently relayed, says `pending` while it
 * has not reached the message, or `unknown` once it has passed it without a record (it restarted):
 * then the request fails with a 503, and its retry is told `duplicate` for what was stored.
 */
import type { NatsConnection, Subscription } from 'nats';
import { packMessage, unpackMessage } from '../ring/codec.js';
import { ShardResponders } from './shard-responders.js';
import type { AppliedMessage, VerdictBoard } from './verdicts.js';

/** How long a publisher waits for a push before it asks. */
const kQueryAfterMs = 300;
/** Pause between queries while the replicas answer `pending` (or nobody answers). */
const kQueryEveryMs = 500;
/** Outcomes a replica keeps for queries: the most recent this many, and none older than the publish deadline twice. */
const kRecentCount = 20_000;
const kRecentMs = 60_000;

type Answer = readonly ['done', number, Uint8Array, AppliedMessage['reply'] | null] | readonly ['pending'] | readonly ['unknown'];

export interface RelayOptions {
  /** The last log position this node's replica of `shard` applied; null when it holds none. */
  readonly applied: (shard: number) => number | null;
}

export class VerdictRelay {
  readonly #nc: NatsConnection;
  readonly #board: VerdictBoard;
  readonly #options: RelayOptions;
  readonly replySubject: string;
  readonly #inbox: Subscription;
  readonly #responders: ShardResponders;
  readonly #recent = new Map<string, { outcome: AppliedMessage; at: number }>();

  constructor(nc: NatsConnection, board: VerdictBoard, nodeNuid: string, options: RelayOptions) {
    this.#nc = nc;
    this.#board = board;
    this.#options = options;
    this.replySubject = `agg.v.${nodeNuid}`;
    this.#responders = new ShardResponders(nc, subjectOfQueries, (shard, message) => {
      const [msgId, seq] = unpackMessage(message.data) as [string, number];
      message.respond(packMessage(this.#answer(shard, msgId, seq)));
    });
    this.#inbox = nc.subscribe(this.replySubject, {
      callback: (error, message) => {
        if (error) return;
        const [msgId, inserted, statuses, reply] = unpackMessage(message.data) as [string, number, Uint8Array, AppliedMessage['reply'] | null];
        this.#board.applied(msgId, outcomeOf(inserted, statuses, reply));
      },
    });
  }

  /** A replica applied a message whose publisher asked for a push: push it, and keep it for queries. */
  push(replyTo: string, msgId: string, outcome: AppliedMessage): void {
    this.#nc.publish(replyTo, packMessage([msgId, outcome.inserted, outcome.statuses, outcome.reply ?? null]));
    const now = performance.now();
    this.#recent.set(msgId, { outcome, at: now });
    for (const [id, kept] of this.#recent) {
      if (this.#recent.size <= kRecentCount && now - kept.at < kRecentMs) break;
      this.#recent.delete(id);
    }
  }

  /** This node now holds (or no longer holds) a replica of `shard`: answer its queries (or stop). */
  serve(shard: number, holding: boolean): void {
    this.#responders.serve(shard, holding);
  }

  /**
   * The publisher's side, after the PubAck of message `msgId` at log position `seq`: while the board
   * still waits for it, ask the shard's replicas now and then. Returns at once; settles the board.
   */
  follow(shard: number, msgId: string, seq: number): void {
    const ask = async (): Promise<void> => {
      if (!this.#board.waiting(msgId)) return;
      const answer = await this.#nc
        .request(subjectOfQueries(shard), packMessage([msgId, seq]), { timeout: kQueryEveryMs })
        .then((reply) => unpackMessage(reply.data) as Answer)
        .catch(() => ['pending'] as const);
      if (answer[0] === 'done') this.#board.applied(msgId, outcomeOf(answer[1], answer[2], answer[3]));
      else if (answer[0] === 'unknown') this.#board.reject(msgId, `shard ${shard}'s replicas applied log position ${seq} but no longer know its verdict (they restarted); retry: what was stored comes back duplicate`);
      else setTimeout(() => void ask(), kQueryEveryMs).unref();
    };
    setTimeout(() => void ask(), kQueryAfterMs).unref();
  }

  stop(): void {
    this.#inbox.unsubscribe();
    this.#responders.stop();
  }

  #answer(shard: number, msgId: string, seq: number): Answer {
    const kept = this.#recent.get(msgId);
    if (kept) return ['done', kept.outcome.inserted, kept.outcome.statuses, kept.outcome.reply ?? null];
    const applied = this.#options.applied(shard);
    return applied !== null && applied >= seq ? ['unknown'] : ['pending'];
  }
}

function subjectOfQueries(shard: number): string {
  return `agg.q.${shard}`;
}

function outcomeOf(inserted: number, statuses: Uint8Array, reply: AppliedMessage['reply'] | null | undefined): AppliedMessage {
  return reply ? { inserted, statuses, reply } : { inserted, statuses };
}
