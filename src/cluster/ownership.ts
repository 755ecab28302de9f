/**
 * Which shards this node owns (../shared/spec/cluster.md §1, §3). Of the nodes that hold a
 * replica of a shard, the owner is the one that ticks it (frontier.ts), snapshots it and sends its
 * expiry commands. Ownership is a KV lease `own.<k>` (leases.ts): renewed by revision, lost when
 * the holder stops renewing for a TTL, then taken by a replica that is caught up. A node takes
 * free shards up to its fair share, ⌈shards / nodes seen⌉, so a node that joins takes what is
 * free and nobody is robbed.
 */
import type { Lease, Leases } from './leases.js';
import { Leases as LeaseClock } from './leases.js';

export interface OwnershipOptions {
  readonly shards: number;
  readonly ttlMs: number;
  /** Whether this node's replica of a shard is caught up: only then may it take the shard. */
  readonly caughtUp: (shard: number) => boolean;
  readonly onError: (message: string) => void;
}

export class Ownership {
  readonly #leases: Leases;
  readonly #options: OwnershipOptions;
  readonly #held: (Lease | null)[];
  readonly #timer: NodeJS.Timeout;
  #round: Promise<void> = Promise.resolve();
  #stopped = false;
  /** When each held lease was last renewed (performance.now()). */
  readonly #renewedAt: number[];

  constructor(leases: Leases, options: OwnershipOptions) {
    this.#leases = leases;
    this.#options = options;
    this.#held = new Array<Lease | null>(options.shards).fill(null);
    this.#renewedAt = new Array<number>(options.shards).fill(0);
    // Look for free shards often (a takeover waits for the next look), renew at a third of the TTL.
    this.#timer = setInterval(() => this.#next(), Math.min(1000, options.ttlMs / 4));
    this.#timer.unref();
    this.#next();
  }

  owns(shard: number): boolean {
    return LeaseClock.held(this.#held[shard] ?? null);
  }

  /** The revision of this node's lease on the shard (its fencing token) while it holds it by its own clock; else null. */
  leaseRevision(shard: number): number | null {
    const lease = this.#held[shard] ?? null;
    return LeaseClock.held(lease) ? lease!.revision : null;
  }

  owned(): number[] {
    return this.#held.flatMap((_, shard) => (this.owns(shard) ? [shard] : []));
  }

  /** Gives one shard's lease back (this node no longer holds the shard), so another node takes it at once. */
  async release(shard: number): Promise<void> {
    await this.#round;
    const lease = this.#held[shard] ?? null;
    this.#held[shard] = null;
    if (lease) await this.#leases.release(lease).catch(() => {});
  }

  /** Stops renewing and gives every held lease back, so another node takes over at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#round;
    const held = this.#held.splice(0, this.#held.length, ...new Array<Lease | null>(this.#held.length).fill(null));
    await Promise.all(held.map((lease) => (lease ? this.#leases.release(lease).catch(() => {}) : undefined)));
  }

  #next(): void {
    // One round at a time: a slow KV (a NATS failover) must not pile rounds up.
    this.#round = this.#round.then(() => (this.#stopped ? undefined : this.#run())).catch((error: unknown) => this.#options.onError(`lease round: ${(error as Error).message}`));
  }

  async #run(): Promise<void> {
    const now = performance.now();
    for (let shard = 0; shard < this.#held.length; shard++) {
      const lease = this.#held[shard];
      if (!lease || now - this.#renewedAt[shard]! < this.#options.ttlMs / 3) continue;
      const renewed = await this.#leases.renew(lease);
      this.#held[shard] = renewed;
      this.#renewedAt[shard] = performance.now();
    }
    const holders = new Set<string>();
    const free: number[] = [];
    for (let shard = 0; shard < this.#held.length; shard++) {
      if (this.#held[shard]) continue;
      const holder = await this.#leases.holderOf(ownKey(shard));
      if (holder === null) free.push(shard);
      else holders.add(holder);
    }
    const share = Math.ceil(this.#options.shards / (holders.size + 1));
    let count = this.#held.filter((lease) => lease !== null).length;
    for (const shard of free) {
      if (count >= share || this.#stopped) break;
      if (!this.#options.caughtUp(shard)) continue;
      const lease = await this.#leases.acquire(ownKey(shard));
      if (!lease) continue;
      this.#held[shard] = lease;
      this.#renewedAt[shard] = performance.now();
      count++;
    }
  }
}

function ownKey(shard: number): string {
  return `own.${shard}`;
}
