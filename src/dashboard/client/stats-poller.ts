import { getJson } from './api.js';
import type { Stats } from './api-types.js';
import { CounterHistory, historySamples, type CounterSample, type RatePoint } from './rates.js';

export interface StatsUpdate {
  readonly stats: Stats;
  /** Rates since the previous poll; null on the first one or after a restart. */
  readonly point: RatePoint | null;
  readonly history: CounterHistory;
}

const kIntervalMs = 1000;
/** The chart's span: the history the server keeps (/stats?history=1, 15 minutes). */
export const kHistorySeconds = 900;

/**
 * Polls /stats about once a second: the next poll is scheduled when the previous one finished, so
 * a slow server never has two of ours in flight. Every view that shows counters listens here.
 * While it has no sample yet (the first poll, or until a token is accepted) it asks for the
 * server's history too (one answer of at most a few tens of KB), so the chart is drawn at once.
 */
export class StatsPoller {
  readonly history = new CounterHistory(kHistorySeconds);
  readonly #listeners = new Set<(update: StatsUpdate) => void>();
  #latest: Stats | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #inFlight = false;

  get latest(): Stats | null {
    return this.#latest;
  }

  onUpdate(listener: (update: StatsUpdate) => void): void {
    this.#listeners.add(listener);
  }

  start(): void {
    void this.pollNow();
  }

  /** Polls at once (e.g. after a new token), then keeps the rhythm from there. */
  async pollNow(): Promise<void> {
    if (this.#inFlight) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#inFlight = true;
    try {
      const seeding = this.history.empty;
      const stats = await getJson<Stats>(seeding ? '/stats?history=1' : '/stats');
      const at = Date.now() / 1000;
      this.#latest = stats;
      if (seeding && stats.history) for (const past of historySamples(stats.history, stats.uptime, at)) this.history.add(past.at, past.sample);
      const point = this.history.add(at, sampleOf(stats));
      for (const listener of this.#listeners) listener({ stats, point, history: this.history });
    } catch {
      // Shown by the connection banner (api.ts reports every failure); keep polling.
    } finally {
      this.#inFlight = false;
      this.#timer = setTimeout(() => void this.pollNow(), kIntervalMs);
    }
  }
}

function sampleOf(stats: Stats): CounterSample {
  return {
    uptime: stats.uptime,
    received: stats.received,
    unique: stats.unique_processed,
    duplicates: stats.duplicate_dropped,
    topics: new Map(Object.entries(stats.topic_counts).map(([topic, counts]) => [topic, counts.received])),
  };
}
