/**
 * The body of POST /admin/delete: which of a topic's stored events to remove. Either a list of
 * ids, or a receive-time range (`received_after` inclusive, `received_before` exclusive; each an
 * RFC 3339 date-time or an age such as `-30d`; a missing bound is open). `forget` erases the
 * identities too. Anything else in the body is refused, so a typo cannot widen a deletion.
 */
import { AggregatorError } from '../errors.js';
import { topicPattern } from './schema.js';
import { parseTimeBound } from './time-bound.js';

/** Which of a topic's stored events a deletion removes; the one definition the HTTP, engine and store layers share. */
export interface DeletionSelector {
  readonly topic: string;
  /** Receive-time range in ms since the epoch, [from, to); null bounds are open. Ignored with `eventIds`. */
  readonly receivedFrom: number | null;
  readonly receivedTo: number | null;
  /** Delete exactly these ids of the topic, instead of a range. */
  readonly eventIds: readonly string[] | null;
  /** Erase the identities too: a resend is then stored again (a data-protection request). */
  readonly forget: boolean;
}

export const kMaxDeletionIds = 1000;
const fields = new Set(['topic', 'event_ids', 'received_after', 'received_before', 'forget']);
const topicRule = new RegExp(topicPattern);

const invalid = (message: string): AggregatorError => new AggregatorError('invalid_selector', message);

export function parseDeletionSelector(text: string, now: number): DeletionSelector {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new AggregatorError('bad_json', `the body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('expected {"topic": ..., "event_ids": [...]} or {"topic": ..., "received_before": ...}');
  const selector = body as Record<string, unknown>;
  const unknown = Object.keys(selector).filter((key) => !fields.has(key));
  if (unknown.length > 0) throw invalid(`unknown field ${JSON.stringify(unknown[0])}: the fields are ${[...fields].join(', ')}`);
  const { topic, event_ids: ids, forget = false } = selector;
  if (typeof topic !== 'string' || topic.length > 128 || !topicRule.test(topic)) throw invalid('"topic" must be a topic name');
  if (typeof forget !== 'boolean') throw invalid('"forget" must be true or false');
  const hasRange = selector.received_after !== undefined || selector.received_before !== undefined;
  if (ids !== undefined) {
    if (hasRange) throw invalid('give "event_ids" or a receive-time range, not both');
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > kMaxDeletionIds) throw invalid(`"event_ids" must be a list of 1 to ${kMaxDeletionIds} ids`);
    if (!ids.every((id) => typeof id === 'string' && id.length > 0 && id.length <= 128)) throw invalid('every id in "event_ids" must be a string of 1 to 128 characters');
    return { topic, receivedFrom: null, receivedTo: null, eventIds: ids as string[], forget };
  }
  const bound = (name: 'received_after' | 'received_before'): number | null => {
    const value = selector[name];
    if (value === undefined) return null;
    const time = typeof value === 'string' ? parseTimeBound(value, now) : null;
    if (time === null) throw invalid(`"${name}" must be an RFC 3339 date-time or an age such as -30d`);
    return time;
  };
  return { topic, receivedFrom: bound('received_after'), receivedTo: bound('received_before'), eventIds: null, forget };
}
