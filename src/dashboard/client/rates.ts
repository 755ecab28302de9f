/**
 * Rates from /stats, which only has cumulative counters: the difference between two polls divided
 * by the time between them. That time is the difference of the server's `uptime`, not of the
 * browser's clock, so a slow response does not show up as a dip followed by a spike.
 *
 * A fresh page starts from the server's own history (/stats?history=1: how the counters grew in
 * each second of the last 15 minutes, and their values at the end of the newest second): it is
 * turned back into cumulative samples, so the history and the live polls are one series of
 * counter samples and the first live rate is simply the difference from the newest of them — no
 * gap and nothing counted twice at the seam.
 */
import type { StatsHistory } from './api-types.js';

export interface CounterSample {
  /** The server's uptime, seconds. */
  readonly uptime: number;
  readonly received: number;
  readonly unique: number;
  readonly duplicates: number;
  /** Received per topic; null when not known (samples rebuilt from the server's history, which has no topics). */
  readonly topics: ReadonlyMap<string, number> | null;
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
  if (previous.topics && current.topics) for (const [topic, received] of current.topics) topics.set(topic, (received - (previous.topics.get(topic) ?? 0)) / seconds);
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

export interface TimedSample {
  /** When the sample was taken, unix seconds on the browser's clock. */
  readonly at: number;
  readonly sample: CounterSample;
}

/**
 * The cumulative samples a /stats?history=1 answer holds, oldest first: the counters at the start
 * of the oldest interval and at the end of each, rebuilt backwards from `end_counts`. Each is placed
 * on the browser's clock by its distance in server uptime from the answer (`uptime`, seen at `at`).
 */
export function historySamples(history: StatsHistory, uptime: number, at: number): TimedSample[] {
  const count = history.received.length;
  const seconds = history.interval_ms / 1000;
  let received = history.end_counts.received;
  let unique = history.end_counts.unique_processed;
  let duplicates = history.end_counts.duplicate_dropped;
  const samples: TimedSample[] = [];
  for (let index = count - 1; index >= -1; index--) {
    const sampleUptime = history.end_uptime - (count - 1 - index) * seconds;
    samples.push({ at: at - (uptime - sampleUptime), sample: { uptime: sampleUptime, received, unique, duplicates, topics: null } });
    if (index < 0) break;
    received -= history.received[index]!;
    unique -= history.unique_processed[index]!;
    duplicates -= history.duplicate_dropped[index]!;
  }
  return samples.reverse();
}

/** The samples and rate points of the last `windowSeconds`, for the chart and the recent duplicate ratio. */
export class CounterHistory {
  readonly #windowSeconds: number;
  readonly #samples: { at: number; sample: CounterSample }[] = [];
  readonly #points: RatePoint[] = [];

  constructor(windowSeconds: number) {
    this.#windowSeconds = windowSeconds;
  }

  /** No sample yet: the next poll should ask for the server's history. */
  get empty(): boolean {
    return this.#samples.length === 0;
  }

  /** Adds a poll's sample taken at `at` (unix seconds); returns the rates since the previous one, if any. */
  add(at: number, sample: CounterSample): RatePoint | null {
    const previous = this.#samples.at(-1);
    // The same server instant again (a poll answered in the instant the history ended): keep the
    // older sample, so whatever it missed is counted by the next difference, not dropped.
    if (previous && sample.uptime === previous.sample.uptime && followsFrom(previous.sample, sample)) return null;
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
    const recent = this.#samples.filter((entry) => entry.at >= latest.at - seconds);
    const from = recent[0] ?? latest;
    const rates = ratesBetween(from.sample, latest.sample);
    if (!rates || from.sample.topics) return rates;
    // Samples from the server's history have no topics: per-topic rates over the live polls in the span, once there are two.
    const firstLive = recent.find((entry) => entry.sample.topics !== null && entry !== latest);
    const topics = firstLive ? ratesBetween(firstLive.sample, latest.sample)?.topics : undefined;
    return topics ? { ...rates, topics } : rates;
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
