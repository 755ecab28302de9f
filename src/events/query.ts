import { InvalidQueryError } from '../errors.js';
import { decodeCursor } from './cursor.js';
import { topicPattern } from './schema.js';

export const kDefaultLimit = 100;
export const kMaxLimit = 1000;

export interface EventsQuery {
  readonly topic: string | null;
  readonly limit: number;
  readonly afterSeq: number;
  /** Whether `after` was given: /tail without one starts from now, not from the beginning. */
  readonly hasCursor: boolean;
}

const topicRegex = new RegExp(topicPattern);

/** Parses /events and /tail query parameters; every bad value is a 400. */
export function parseEventsQuery(params: URLSearchParams): EventsQuery {
  const topic = params.get('topic');
  if (topic !== null && (topic.length > 128 || !topicRegex.test(topic))) {
    throw new InvalidQueryError(`"topic" must match ${topicPattern} and be at most 128 characters`);
  }
  const limitText = params.get('limit');
  let limit = kDefaultLimit;
  if (limitText !== null) {
    limit = /^\d{1,7}$/.test(limitText) ? Number(limitText) : Number.NaN;
    if (!(limit >= 1 && limit <= kMaxLimit)) throw new InvalidQueryError(`"limit" must be an integer from 1 to ${kMaxLimit}`);
  }
  const after = params.get('after');
  const hasCursor = after !== null && after !== '';
  return { topic, limit, afterSeq: hasCursor ? decodeCursor(after) : 0, hasCursor };
}
