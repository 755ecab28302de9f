/**
 * Rates from /stats, which only has cumulative counters: the difference between two polls divided
 * by the time between them. That time is the difference of the server's `uptime`, not of the
 * browser's clock, so a slow response does not show up as a dip followed by a spike.
 */

export interface CounterSample {
  /** The server's uptime, seconds. */
  readonly uptime: number;
  readonly received: number;
  readonly unique: number;
  readonly duplicates: number;
  /** Received per topic. */
  readonly topics: ReadonlyMap<string, number>;
}

export interface Rates {
  /** Events per second over the interval. */
  readonly received: number;
  readonly unique: number;
  readonly duplicates: number;
  readonly topics: ReadonlyMap<string, number>;
}

export interface RatePoint extends Rates {
  /** When the later sample arrived, unix seconds (the chart's x axis). */
  readonly at: number;
}

/** Per-second rates between two samples, or null when they cannot be compared (same instant, or the server restarted). */
export function ratesBetween(previous: CounterSample, current: CounterSample): Rates | null {
  const seconds = current.uptime - previous.uptime;
  if (!(seconds > 0) || !followsFrom(previous, current)) return null;
  const topics = new Map<string, number>();
  for (const [topic, received] of current.topics) topics.set(topic, (received - (previous.topics.get(topic) ?? 0)) / seconds);
  return {
    received: (current.received - previous.received) / seconds,
    unique: (current.unique - previous.unique) / seconds,
    duplicates: (current.duplicates - previous.duplicates) / seconds,
    topics,
  };
}

/** Counters only grow while a server runs: anything else means a restart (or another server). */
function followsFrom(previous: CounterSample, current: CounterSample): boolean {
  return current.uptime >= previous.uptime && current.received >= previous.received && current.unique >= previous.unique && current.duplicates >= previous.duplicates;
}

/** The samples and rate points of the last `windowSeconds`, for the chart and the recent duplicate ratio. */
export class CounterHistory {
  readonly #windowSeconds: number;
  readonly #samples: { at: number; sample: CounterSample }[] = [];
  readonly #points: RatePoint[] = [];

  constructor(windowSeconds: number) {
    this.#windowSeconds = windowSeconds;
  }

  /** Adds a poll's sample taken at `at` (unix seconds); returns the rates since the previous one, if any. */
  add(at: number, sample: CounterSample): RatePoint | null {
    const previous = this.#samples.at(-1);
    if (previous && !followsFrom(previous.sample, sample)) {
      // The server restarted: rates across that are meaningless, start over.
      this.#samples.length = 0;
      this.#points.length = 0;
    }
    const last = this.#samples.at(-1);
    this.#samples.push({ at, sample });
    const rates = last ? ratesBetween(last.sample, sample) : null;
    const point = rates ? { at, ...rates } : null;
    if (point) this.#points.push(point);
    const horizon = at - this.#windowSeconds;
    while (this.#samples.length > 1 && this.#samples[0]!.at < horizon) this.#samples.shift();
    while (this.#points.length > 0 && this.#points[0]!.at < horizon) this.#points.shift();
    return point;
  }

  get points(): readonly RatePoint[] {
    return this.#points;
  }

  /** Rates over the last `seconds` (or what history there is): steadier than one poll's. */
  ratesOver(seconds: number): Rates | null {
    const latest = this.#samples.at(-1);
    if (!latest) return null;
    const from = this.#samples.find((entry) => entry.at >= latest.at - seconds) ?? latest;
    return ratesBetween(from.sample, latest.sample);
  }

  /** duplicates / received over the last `seconds` (or what history there is); null when nothing arrived. */
  duplicateRatioOver(seconds: number): number | null {
    const latest = this.#samples.at(-1);
    if (!latest) return null;
    const from = this.#samples.find((entry) => entry.at >= latest.at - seconds) ?? latest;
    const received = latest.sample.received - from.sample.received;
    return received > 0 ? (latest.sample.duplicates - from.sample.duplicates) / received : null;
  }
}
