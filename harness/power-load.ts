/**
 * The load a power-loss run puts on the service: concurrent clients publishing batches with
 * `?results=1`, some events repeating ones already acknowledged, recording for every event of
 * every 200 when it was acknowledged and what the service said (stored or duplicate). That record
 * is what a power cut is checked against (power-cycles.ts).
 */
import { waitFor } from './wait.js';

/** A refused client backs off a little (not the whole Retry-After: the tests want the load back soon). */
const kRefusedBackoffMs = 25;

export interface Acknowledgement {
  /** performance.now() when the 200 arrived. */
  readonly at: number;
  readonly cycle: number;
}

export interface LoadEvent {
  readonly topic: string;
  readonly event_id: string;
  readonly timestamp: string;
  readonly source: string;
  readonly payload: Record<string, unknown>;
}

export interface PowerLoadOptions {
  /** Concurrent clients (default 4). */
  readonly clients?: number;
  /** Events per request: 1 to this (default 40). */
  readonly maxBatch?: number;
  /** A pause after each answer, ms (default 0: full load; more: a trickle). */
  readonly pauseMs?: number;
  /** Every answer (status 0: the connection failed), with when the request left and when its answer came. */
  readonly onAnswer?: (answer: Answer) => void;
}

export interface Answer {
  readonly status: number;
  readonly sentAt: number;
  readonly at: number;
  readonly retryAfter: string | null;
}

export const keyOf = (item: { topic: string; event_id: string }): string => `${item.topic}/${item.event_id}`;

export class PowerLoad {
  /** Keys acknowledged and expected to be stored (a run drops the ones a `normal` cut lost). */
  readonly acknowledged = new Map<string, Acknowledgement>();
  /** Every distinct event ever sent, acknowledged or not, for the final re-publish. */
  readonly sent = new Map<string, LoadEvent>();
  /** A key answered "stored" while it was already acknowledged (and not lost): counted unique twice. */
  readonly storedTwice: string[] = [];
  /** Requests answered 200, and answered otherwise (503, or the connection died with the server). */
  acknowledgedRequests = 0;
  unacknowledgedRequests = 0;
  inFlight = 0;
  cycle = 0;
  /** Where the clients send; null while the power is off (they wait). */
  url: string | null = null;
  #pool: string[] = [];
  #stopping = false;
  #running: Promise<void>[] = [];
  #next = 0;

  constructor(
    private readonly random: () => number,
    private readonly options: PowerLoadOptions = {},
  ) {}

  start(): void {
    this.#running = Array.from({ length: this.options.clients ?? 4 }, (_, id) => this.#client(id));
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#running);
  }

  /** Forgets keys a cut lost: they are neither expected stored nor repeated as known duplicates now. */
  forget(keys: Iterable<string>): void {
    for (const key of keys) this.acknowledged.delete(key);
    this.#pool = [...this.acknowledged.keys()];
  }

  async #client(id: number): Promise<void> {
    while (!this.#stopping) {
      if (this.url === null) {
        await waitFor(async () => this.url !== null || this.#stopping, 'the power to come back', 120_000);
        continue;
      }
      const events = this.#batch(id);
      for (const item of events) this.sent.set(keyOf(item), item);
      this.inFlight++;
      const sentAt = performance.now();
      let status = 0;
      try {
        const response = await fetch(`${this.url}/publish?results=1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) });
        const body = (await response.json()) as { results?: { topic: string; event_id: string; status: string }[] };
        status = response.status;
        this.options.onAnswer?.({ status, sentAt, at: performance.now(), retryAfter: response.headers.get('retry-after') });
        if (status === 200) this.#acknowledge(body.results ?? []);
        else this.unacknowledgedRequests++;
      } catch {
        this.unacknowledgedRequests++; // the server died under this request: it was not acknowledged
      } finally {
        this.inFlight--;
      }
      // Part of the load, not a wait: the trickle's pause (`pauseMs`), and a refused client's back-off.
      const pause = Math.max(this.options.pauseMs ?? 0, status === 200 ? 0 : kRefusedBackoffMs);
      if (pause > 0 && !this.#stopping) await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  #batch(id: number): LoadEvent[] {
    const size = 1 + Math.floor(this.random() * (this.options.maxBatch ?? 40));
    return Array.from({ length: size }, () => {
      const repeat = this.#pool.length > 0 && this.random() < 0.15;
      const key = repeat ? this.#pool[Math.floor(this.random() * this.#pool.length)]! : null;
      const [topic, eventId] = key ? [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)] : [`power.${id % 3}`, `c${id}-${this.#next++}`];
      return { topic, event_id: eventId, timestamp: '2025-10-22T10:30:00Z', source: 'power-loss', payload: { client: id, pad: 'p'.repeat(64) } };
    });
  }

  #acknowledge(results: readonly { topic: string; event_id: string; status: string }[]): void {
    const at = performance.now();
    this.acknowledgedRequests++;
    for (const result of results) {
      const key = keyOf(result);
      if (this.acknowledged.has(key)) {
        if (result.status === 'stored') this.storedTwice.push(key);
        continue;
      }
      // "duplicate" for a key not acknowledged yet: an earlier unanswered request committed it.
      this.acknowledged.set(key, { at, cycle: this.cycle });
      this.#pool.push(key);
    }
  }
}
