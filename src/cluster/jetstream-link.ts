/**
 * Whether this node can write to JetStream now, as writes and /health see it: the NATS
 * connection's state, and whether JetStream commits anything for the node. Connected to a server
 * that has no quorum (cut off together with this node), the connection stays up while nothing
 * commits: writes are then refused at once instead of each waiting out the publish deadline, and
 * the node reconnects, which tries the next server of its list.
 */
import type { NatsConnection } from 'nats';
import type { ClusterHealth } from '../events/responses.js';

/** How long writes wait out a lost NATS connection before they are refused (503). */
const kReconnectGraceMs = 3000;
/**
 * JetStream silent this long: writes are refused at once and /health is 503 until it commits
 * something again. Longer than a NATS leader election in a rolling restart (~2 s).
 */
const kSilentMs = 5000;
/** Silent this long while connected: the server has no quorum; hop to another (at most once per this interval). */
const kHopAfterMs = 8000;

export interface JetStreamLinkOptions {
  /** ms since the membership round last wrote this node's key (a KV write: it needs a quorum). */
  readonly roundSilentMs: () => number;
  /** performance.now() of this node's last PubAck (a stream write: it needs a quorum). */
  readonly lastAckAt: () => number;
  readonly onNotice: (message: string) => void;
}

export class JetStreamLink {
  readonly #nc: NatsConnection;
  readonly #options: JetStreamLinkOptions;
  readonly #hopper: NodeJS.Timeout;
  #state: ClusterHealth['nats'] = 'connected';
  #disconnectedAt = 0;
  #hoppedAt = Number.NEGATIVE_INFINITY;

  constructor(nc: NatsConnection, options: JetStreamLinkOptions) {
    this.#nc = nc;
    this.#options = options;
    this.#hopper = setInterval(() => this.#hopIfSilent(), 1000);
    this.#hopper.unref();
    void this.#watch();
  }

  get state(): ClusterHealth['nats'] {
    return this.#state;
  }

  /** 'failed' when no write may be taken now; null when the link can take one. */
  refusal(): 'failed' | null {
    if (this.#state === 'closed') return 'failed';
    // A reconnect to another server (one restarting, one paused) takes a moment, during which nats.js
    // holds what is published and the publish retries: writes wait it out. Longer, NATS is gone.
    if (this.#state === 'reconnecting' && performance.now() - this.#disconnectedAt > kReconnectGraceMs) return 'failed';
    // Connected, yet JetStream commits nothing (a server cut off with this node, without a quorum):
    // every write would wait out the publish deadline, so it is refused at once instead.
    return this.#silentMs() > kSilentMs ? 'failed' : null;
  }

  /** What /health says of the link; null while it is well. */
  problem(): string | null {
    if (this.#state !== 'connected') return `NATS ${this.#state}`;
    const silent = this.#silentMs();
    return silent > kSilentMs ? `JetStream has not answered for ${Math.round(silent / 1000)} s (the NATS server this node is connected to may have no quorum)` : null;
  }

  stop(): void {
    clearInterval(this.#hopper);
  }

  /**
   * How long JetStream has committed nothing for this node: not the membership round's KV write,
   * not a PubAck. A KV bucket without a leader for a while (an election, a heal) silences only the
   * round while the shard streams go on taking writes; a server without a quorum silences both.
   * Reads are no sign: a leader cut off with a minority still answers them until it steps down.
   */
  #silentMs(): number {
    return Math.min(this.#options.roundSilentMs(), performance.now() - this.#options.lastAckAt());
  }

  /** Connected to a server that commits nothing: reconnect, which tries the next server of the list. */
  #hopIfSilent(): void {
    const now = performance.now();
    const silent = this.#silentMs();
    if (this.#state !== 'connected' || silent < kHopAfterMs || now - this.#hoppedAt < kHopAfterMs) return;
    this.#hoppedAt = now;
    this.#options.onNotice(`JetStream silent for ${Math.round(silent / 1000)} s on this NATS server: reconnecting to another`);
    this.#nc.reconnect().catch(() => {});
  }

  async #watch(): Promise<void> {
    for await (const status of this.#nc.status()) {
      if (status.type === 'disconnect') {
        this.#state = 'reconnecting';
        this.#disconnectedAt = performance.now();
      } else if (status.type === 'reconnect') this.#state = 'connected';
    }
    this.#state = 'closed';
  }
}
