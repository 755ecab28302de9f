/**
 * The retry schedule every client of the aggregator shares: the Client library, the publisher CLI
 * (through the same transport) and the consumer's transport.
 */

export const kBackoffBaseMs = 50;
export const kBackoffCapMs = 5000;

/**
 * Statuses worth the same request again. 503 is the aggregator's own "overloaded / disk full /
 * stopping"; 502 and 504 come from proxies in front of a restarting server; 408 and 429 ask for a
 * later retry. Everything else is an answer retrying cannot change.
 */
export const kRetryableStatuses: ReadonlySet<number> = new Set([408, 429, 502, 503, 504]);

/**
 * How long to wait before retry number `attempt + 1` (attempt 0 = the first send failed).
 * Full jitter: uniform in [0, min(cap, base * 2^attempt)), so clients refused together spread out.
 * A Retry-After from the server is a floor, not a replacement: the jitter is added on top of it,
 * otherwise every client told "1" would come back in the same millisecond and be refused again.
 */
export function backoffDelay(attempt: number, retryAfterMs: number | null, random: () => number = Math.random): number {
  const ceiling = Math.min(kBackoffCapMs, kBackoffBaseMs * 2 ** Math.min(attempt, 30));
  return (retryAfterMs ?? 0) + Math.floor(random() * ceiling);
}

/** Retry-After in delta-seconds (what the aggregator sends) or as an HTTP date; null if absent or unreadable. */
export function parseRetryAfter(header: string | undefined, now: number = Date.now()): number | null {
  if (header === undefined) return null;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}
