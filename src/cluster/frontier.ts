/**
 * The cluster's watermark (../shared/spec/cluster.md §4): every shard's clock, as this node's
 * replicas have applied it, and their minimum W. Every event with a seq at or below W is
 * committed here (each shard's later messages start above its clock), so /events, /tail and the
 * stats cursor read up to W exactly as they read up to the sequencer's watermark in the embedded
 * engine.
 *
 * A shard with no traffic would hold W back for ever, so the ticker sends it ticks: empty messages
 * that carry the furthest event seq this node has applied, which the shard takes as its own. A shard
 * gets one only after its clock stood still for a tick interval while another shard's events are
 * ahead: from its owner then, from any other node once it stood still for the takeover time (its
 * owner is gone). Under load every shard's own messages move its clock, and no tick is sent.
 */
import type { JetStreamClient } from 'nats';
import type { Watermark } from '../ingest/storage.js';
import { kHeaders, subjectOf } from './log-message.js';
import { headers as natsHeaders } from 'nats';

export class Frontier implements Watermark {
  readonly cursorVersion = 2;
  readonly #clocks: number[];
  /** Per shard, the seq of its last event (ticks move the clock, not this): what the others must pass. */
  readonly #events: number[];
  #current: number;
  readonly #listeners: (() => void)[] = [];

  constructor(clocks: readonly number[]) {
    this.#clocks = [...clocks];
    // After a restart, a shard's clock may be an event nobody else has passed yet.
    this.#events = [...clocks];
    this.#current = Math.min(...this.#clocks);
  }

  get current(): number {
    return this.#current;
  }

  /** The furthest event of any shard: W covers every event once every clock reaches it. */
  get furthestEvent(): number {
    return Math.max(...this.#events);
  }

  clockOf(shard: number): number {
    return this.#clocks[shard]!;
  }

  /** A shard applied a message; `event`: it carried events (a tick only moves the clock). */
  advance(shard: number, clock: number, event: boolean): void {
    this.learn(shard, clock, event ? clock : 0);
  }

  /**
   * A shard reached `clock`, its last event at `eventClock`: from this node's replica, or another
   * node's (clock-gossip.ts). Clocks only go forward: a replica behind what was already seen (one
   * bootstrapping, one slower than a peer) holds nothing back and moves nothing back.
   */
  learn(shard: number, clock: number, eventClock: number): void {
    if (eventClock > this.#events[shard]!) this.#events[shard] = eventClock;
    const before = this.#clocks[shard]!;
    if (clock <= before) return;
    this.#clocks[shard] = clock;
    if (before !== this.#current) return; // another shard holds W
    const current = Math.min(...this.#clocks);
    if (current === this.#current) return;
    this.#current = current;
    for (const listener of this.#listeners) listener();
  }

  onAdvance(listener: () => void): void {
    this.#listeners.push(listener);
  }
}

export interface TickerOptions {
  readonly intervalMs: number;
  /** How long a shard may lag before a node that does not own it ticks it. */
  readonly takeoverMs: number;
  readonly owns: (shard: number) => boolean;
  /** Rings the shard's doorbell once a tick is in the log. */
  readonly ring: (shard: number) => void;
}

export class Ticker {
  readonly #js: JetStreamClient;
  readonly #frontier: Frontier;
  readonly #options: TickerOptions;
  /** Per shard, its clock when last looked at and since when it has not moved. */
  readonly #still: { clock: number; since: number }[];
  /** Per shard, the clock it had when this node last sent it a tick, and when: one tick at a time. */
  readonly #ticked: { clock: number; at: number }[];
  readonly #timer: NodeJS.Timeout;

  constructor(js: JetStreamClient, frontier: Frontier, shards: number, options: TickerOptions) {
    this.#js = js;
    this.#frontier = frontier;
    this.#options = options;
    this.#still = Array.from({ length: shards }, () => ({ clock: -1, since: 0 }));
    this.#ticked = Array.from({ length: shards }, () => ({ clock: -1, at: 0 }));
    this.#timer = setInterval(() => this.#tick(), options.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #tick(): void {
    // Only a shard behind some event holds anything back; a tick's clock is not an event, so ticks settle.
    const furthest = this.#frontier.furthestEvent;
    const now = performance.now();
    for (let shard = 0; shard < this.#still.length; shard++) {
      const clock = this.#frontier.clockOf(shard);
      const still = this.#still[shard]!;
      if (clock !== still.clock) {
        // A shard whose clock moves needs no tick: its own traffic carries the watermark.
        this.#still[shard] = { clock, since: now };
        continue;
      }
      if (clock >= furthest) continue;
      const idle = now - still.since;
      if (idle < this.#options.intervalMs || !(this.#options.owns(shard) || idle >= this.#options.takeoverMs)) continue;
      // The last tick has not arrived yet: wait for it (a stalled consumer would otherwise be flooded), up to a second.
      const ticked = this.#ticked[shard]!;
      if (ticked.clock === this.#frontier.clockOf(shard) && now - ticked.at < 1000) continue;
      this.#ticked[shard] = { clock: this.#frontier.clockOf(shard), at: now };
      const headers = natsHeaders();
      headers.set(kHeaders.clock, String(furthest));
      // A tick needs no id: a repeated one only moves the clock again, which any message does.
      this.#js.publish(subjectOf(shard), undefined, { headers, timeout: 2000 }).then(
        () => this.#options.ring(shard),
        () => {},
      );
    }
  }
}
