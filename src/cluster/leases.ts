/**
 * Shard ownership by JetStream KV lease (../shared/spec/cluster.md §1, §3): a lease is a key in a
 * bucket whose max age is the lease TTL, created by `create` (which fails while someone holds it)
 * and kept by `update` with the revision last written (which fails once anybody else wrote it).
 * Revisions are the bucket's stream sequence, so they only ever grow: the revision a holder got
 * is its fencing token, and every shared effect it makes carries it.
 *
 * A holder also keeps its own clock: it counts its lease as held only until `ttl - margin` after
 * the last renewal the server confirmed, because a node that was paused (SIGSTOP) or cut off
 * cannot know whether the key expired meanwhile.
 */
import { isApiError } from './nats-errors.js';
import type { JetStreamClient, KV } from 'nats';

/** The lease bucket: one revision per key, entries that vanish a TTL after their last write, on `replicas` nodes. */
export function openLeaseBucket(js: JetStreamClient, name: string, ttlMs: number, replicas: number): Promise<KV> {
  // Reads through the stream leader: a direct-get responder on a paused server swallows the requests routed to it.
  return js.views.kv(name, { ttl: ttlMs, history: 1, replicas, allow_direct: false });
}

export interface Lease {
  readonly key: string;
  /** The revision of the last confirmed write: the fencing token. */
  readonly revision: number;
  /** performance.now() until which this process may act as the holder. */
  readonly heldUntil: number;
}

/** The fraction of the TTL a holder gives up early, for clock drift and the renewal's own round trip. */
const kSafetyMargin = 1 / 3;

export class Leases {
  readonly #kv: KV;
  readonly #holder: string;
  readonly #ttlMs: number;

  /** `kv`: a bucket made with `ttl` = the lease TTL and history 1 (`openLeaseBucket`). */
  constructor(kv: KV, holder: string, ttlMs: number) {
    this.#kv = kv;
    this.#holder = holder;
    this.#ttlMs = ttlMs;
  }

  /** Takes the lease if nobody holds it; null when somebody does. */
  async acquire(key: string): Promise<Lease | null> {
    const sent = performance.now();
    try {
      const revision = await this.#kv.create(key, new TextEncoder().encode(this.#holder));
      return this.#lease(key, revision, sent);
    } catch (error) {
      if (isWrongSequence(error)) return null;
      throw error;
    }
  }

  /** Renews a held lease; null when it was lost (expired and taken, or released): stop acting on it. */
  async renew(lease: Lease): Promise<Lease | null> {
    const sent = performance.now();
    try {
      const revision = await this.#kv.update(lease.key, new TextEncoder().encode(this.#holder), lease.revision);
      return this.#lease(lease.key, revision, sent);
    } catch (error) {
      if (isWrongSequence(error)) return null;
      throw error;
    }
  }

  /** Gives the lease up at once (a clean shutdown), only if it is still ours. */
  async release(lease: Lease): Promise<void> {
    try {
      await this.#kv.delete(lease.key, { previousSeq: lease.revision });
    } catch (error) {
      if (!isWrongSequence(error)) throw error;
    }
  }

  /** Who holds a lease now, as the bucket says (null: nobody). */
  async holderOf(key: string): Promise<string | null> {
    const entry = await this.#kv.get(key);
    if (!entry || entry.operation !== 'PUT') return null;
    return new TextDecoder().decode(entry.value);
  }

  /** Whether this process may still act as the holder, by its own clock. */
  static held(lease: Lease | null): boolean {
    return lease !== null && performance.now() < lease.heldUntil;
  }

  #lease(key: string, revision: number, sent: number): Lease {
    // Counted from when the write was sent: the server's clock started no earlier.
    return { key, revision, heldUntil: sent + this.#ttlMs * (1 - kSafetyMargin) };
  }
}

function isWrongSequence(error: unknown): boolean {
  return isApiError(error, 'wrongLastSequence');
}
