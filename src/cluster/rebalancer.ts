/**
 * Moves this node's replicas to where placement puts them (placement.ts) whenever the live node
 * set or what the nodes report changes (membership.ts), and once a second besides: it starts a
 * replica of each shard newly placed here (a snapshot and the log after it, shard-host.ts), and
 * lets one go only once the nodes placed for it are caught up (`shardsToHold`). One move at a time
 * per round, in shard order, so a node that joins does not start every copy at once.
 *
 * What it did is counted for /health and /metrics: moves started and finished, the bytes the new
 * replicas hold once caught up, and how long each took to catch up.
 */
import type { Membership } from './membership.js';
import { shardsToHold } from './placement.js';
import type { Replicas } from './replicas.js';

export interface RebalancerOptions {
  readonly self: { readonly id: string; readonly holds: boolean };
  readonly shards: number;
  readonly replicas: number;
  /** Before a replica stops: give its lease back, stop answering for it. */
  readonly letGo: (shard: number) => Promise<void>;
  /** After a replica started. */
  readonly taken: (shard: number) => void;
  /** The bytes of a shard's file, once its new replica caught up. */
  readonly fileBytes: (shard: number) => number;
  readonly onNotice: (message: string) => void;
  /** The replicas the node started empty at open and caught up before it listened (a node joining): moves too. */
  readonly initial: { readonly copied: readonly number[]; readonly seconds: number };
}

export interface RebalanceCounts {
  /** Replicas started here empty since the node started (shards placed on it: at its start when it joined, or later). */
  readonly started: number;
  /** Of those, caught up. */
  readonly caughtUp: number;
  /** Replicas this node let go once the nodes placed for them had caught up. */
  readonly released: number;
  /** Bytes of the shard files the started replicas held once caught up. */
  readonly bytesCopied: number;
  /** Seconds the last started replica took to catch up (0: none yet). */
  readonly lastCatchUpSeconds: number;
  /** Replicas started and not yet caught up. */
  readonly moving: number;
}

export class Rebalancer {
  readonly #membership: Membership;
  readonly #replicas: Replicas;
  readonly #options: RebalancerOptions;
  readonly #timer: NodeJS.Timeout;
  #round: Promise<void> = Promise.resolve();
  #stopped = false;
  /** performance.now() when each replica still catching up was started. */
  readonly #catchingUp = new Map<number, number>();
  #counts = { started: 0, caughtUp: 0, released: 0, bytesCopied: 0, lastCatchUpSeconds: 0 };

  constructor(membership: Membership, replicas: Replicas, options: RebalancerOptions) {
    this.#membership = membership;
    this.#replicas = replicas;
    this.#options = options;
    const { copied, seconds } = options.initial;
    this.#counts = { started: copied.length, caughtUp: copied.length, released: 0, bytesCopied: copied.reduce((sum, shard) => sum + options.fileBytes(shard), 0), lastCatchUpSeconds: seconds };
    membership.onChange(() => this.#next());
    this.#timer = setInterval(() => this.#next(), 1000);
    this.#timer.unref();
  }

  get counts(): RebalanceCounts {
    return { ...this.#counts, moving: this.#catchingUp.size };
  }

  /** Stops moving; waits for a move under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#round;
  }

  #next(): void {
    this.#round = this.#round.then(() => (this.#stopped ? undefined : this.#run())).catch((error: unknown) => this.#options.onNotice(`rebalance: ${(error as Error).message}`));
  }

  async #run(): Promise<void> {
    this.#noteCaughtUp();
    const { self, shards, replicas } = this.#options;
    const holding = new Set(this.#replicas.held());
    const target = shardsToHold(self, shards, this.#membership.live, replicas, holding);
    const start = [...target].find((shard) => !holding.has(shard));
    if (start !== undefined) {
      await this.#replicas.hold(start);
      this.#options.taken(start);
      this.#counts.started++;
      this.#catchingUp.set(start, performance.now());
      this.#options.onNotice(`rebalance: shard ${start} placed on this node; its replica is catching up`);
    }
    const release = [...holding].find((shard) => !target.has(shard));
    if (release !== undefined) {
      await this.#options.letGo(release);
      await this.#replicas.release(release);
      this.#catchingUp.delete(release);
      this.#counts.released++;
      this.#options.onNotice(`rebalance: shard ${release} let go: the nodes placed for it are caught up`);
    }
  }

  #noteCaughtUp(): void {
    for (const [shard, since] of this.#catchingUp) {
      if (!this.#replicas.host(shard)?.caughtUp) continue;
      this.#catchingUp.delete(shard);
      this.#counts.caughtUp++;
      this.#counts.bytesCopied += this.#options.fileBytes(shard);
      this.#counts.lastCatchUpSeconds = (performance.now() - since) / 1000;
    }
  }
}
