/**
 * A stored message's timestamp as the log clock reads it (src/store/log-position.ts gives the
 * seqs that follow from it).
 */
import { AggregatorError } from '../errors.js';

/**
 * A stored message's timestamp (RFC 3339 with up to 9 fraction digits, as the stream keeps it) in
 * µs since the epoch. Every replica reads the same text, so every replica gets the same number.
 */
export function timestampMicrosOf(text: string): number {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (!match) throw new AggregatorError('log_malformed', `not a log timestamp: ${JSON.stringify(text)}`);
  return Date.parse(`${match[1]}${match[3]}`) * 1000 + Number((match[2] ?? '').padEnd(6, '0').slice(0, 6));
}
