import { InvalidQueryError } from '../errors.js';
import { topicPattern } from './schema.js';

export const kDefaultLimit = 100;
export const kMaxLimit = 1000;

export interface EventsQuery {
  readonly topic: string | null;
  readonly limit: number;
  readonly afterSeq: number;
}

const topicRegex = new RegExp(topicPattern);
const cursorPrefix = 'v1:';

/** Cursors are opaque to clients; today they carry the last seq a page returned. */
export function encodeCursor(seq: number): string {
  return Buffer.from(`${cursorPrefix}${seq}`).toString('base64url');
}

export function decodeCursor(cursor: string): number {
  const text = /^[A-Za-z0-9_-]{1,64}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('latin1') : '';
  const match = /^v1:(\d{1,15})$/.exec(text);
  if (!match) throw new InvalidQueryError(`"after" is not a cursor returned by this service: ${JSON.stringify(cursor.slice(0, 80))}`);
  return Number(match[1]);
}

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
  return { topic, limit, afterSeq: after === null || after === '' ? 0 : decodeCursor(after) };
}
