/**
 * Times in query and selector parameters: an RFC 3339 date-time, or an age relative to now
 * (`-15m`, `-12h`, `-30d`). And the durations they are made of, which the retention rules use too.
 */
import { isRfc3339DateTime } from './schema.js';

const units: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `15m`, `12h`, `30d` (and `ms`) as milliseconds; null when it is none of them. */
export function parseDuration(text: string): number | null {
  const match = /^(\d{1,9})(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) return null;
  const value = Number(match[1]) * units[match[2]!]!;
  return value > 0 ? value : null;
}

/** ms since the epoch, or null when the text is neither form. */
export function parseTimeBound(text: string, now: number): number | null {
  if (text.startsWith('-')) {
    const age = parseDuration(text.slice(1));
    return age === null ? null : now - age;
  }
  if (!isRfc3339DateTime(text)) return null;
  return eventTimeMs(text);
}

/**
 * An RFC 3339 date-time (an event's own `timestamp`, a time bound) in ms since the epoch: what
 * search's time ranges, histogram buckets and the index's time blocks all compare. Date.parse
 * refuses a leap second; it is the same ms as :59 here.
 */
export function eventTimeMs(timestamp: string): number {
  return Date.parse(timestamp.toUpperCase().replace(/:60(?=[.Z+-])/, ':59'));
}
