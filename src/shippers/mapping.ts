/**
 * What every shipper protocol needs to make our events of its records: a deterministic id for
 * records that carry none, a topic made of a name that may not fit the topic pattern, and a
 * nanosecond clock as an RFC 3339 timestamp.
 */
import { createHash } from 'node:crypto';

/** The same parts always give the same id, so an identical resend dedups (as Fluent Bit's Generate_ID). */
export function contentId(...parts: readonly string[]): string {
  const hash = createHash('sha256');
  parts.forEach((part, index) => {
    if (index > 0) hash.update('\0');
    hash.update(part);
  });
  return `h-${hash.digest('base64url').slice(0, 32)}`;
}

const kMaxTopicLength = 128;

/**
 * A service or label name as a topic: characters outside `[A-Za-z0-9._-]` become `_` (the OTel
 * SDK's default `unknown_service:node` is `unknown_service_node`), a leading non-alphanumeric is
 * prefixed with `t`, and the name is cut at 128 characters. Null when nothing is left.
 */
export function topicFrom(name: string): string | null {
  const cleaned = name.replace(/[^A-Za-z0-9._-]/g, '_');
  if (cleaned === '') return null;
  const started = /^[A-Za-z0-9]/.test(cleaned) ? cleaned : `t${cleaned}`;
  return started.slice(0, kMaxTopicLength);
}

const kNanosPerSecond = 1_000_000_000n;
// 9999-12-31T23:59:59Z: past it an ISO date needs six year digits, which RFC 3339 has not.
const kMaxSeconds = 253_402_300_799n;

/** Unix nanoseconds as RFC 3339 UTC with all nine digits; null for 0 ("unknown" in OTLP) or out of range. */
export function timestampFromNanos(nanos: bigint): string | null {
  if (nanos <= 0n) return null;
  const seconds = nanos / kNanosPerSecond;
  if (seconds > kMaxSeconds) return null;
  const fraction = (nanos % kNanosPerSecond).toString().padStart(9, '0');
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19)}.${fraction}Z`;
}

/**
 * Nanoseconds in a JSON encoding, as a bigint; null when not a non-negative integer. The encodings
 * say decimal string; a number is taken too (as protobuf's JSON parsers do), exact only below 2^53.
 */
export function nanosFromText(value: unknown): bigint | null {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < 2 ** 64) return BigInt(value);
  if (typeof value === 'string' && /^\d{1,20}$/.test(value)) return BigInt(value);
  return null;
}
