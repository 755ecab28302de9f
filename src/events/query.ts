import { ConfigError, InvalidQueryError } from '../errors.js';
import { decodeCursor, type CursorVersion } from './cursor.js';
import { topicPattern } from './schema.js';
import { parseTimeBound } from './time-bound.js';

export const kDefaultLimit = 100;
export const kMaxLimit = 1000;

/** One `payload.<path>=<value>` equality: the path's segments, and the value as text and, when it reads as one, as a number. */
export interface FieldMatch {
  readonly path: readonly string[];
  readonly text: string;
  readonly number: number | null;
}

/**
 * The search filters of /events and /tail; every one must hold. Times are the event's own
 * `timestamp`, compared in UTC: `since` inclusive, `until` exclusive, as ISO strings.
 */
export interface EventFilter {
  readonly since: string | null;
  readonly until: string | null;
  readonly source: string | null;
  readonly fields: readonly FieldMatch[];
}

/** A field value's number form, when it reads as one (`7`, `7.0`, `-1e3`): `payload.<path>=` and search's `field:value` match a JSON number by it. */
export function fieldNumber(text: string): number | null {
  return text.trim() !== '' && Number.isFinite(Number(text)) ? Number(text) : null;
}

export const kMaxFieldFilters = 4;
/** A payload path segment: what `--index-field` and `payload.<path>=` accept. */
export const fieldSegmentPattern = /^[A-Za-z0-9_-]{1,64}$/;

/** `--index-field request_id,user.id` as paths; throws naming a bad one. */
export function parseIndexFields(text: string): string[][] {
  if (text.trim() === '') return [];
  return text.split(',').map((field) => {
    const path = field.trim().split('.');
    if (path.length > 8 || !path.every((segment) => fieldSegmentPattern.test(segment))) throw new ConfigError(`${JSON.stringify(field.trim())} is not a payload field (names of letters, digits, _ and -, joined by dots)`);
    return path;
  });
}

export interface TopicsQuery {
  readonly sort: 'name' | 'volume';
  /** Name order: the last topic of the previous page. Volume order: how many came before. */
  readonly after: string | null;
  readonly prefix: string | null;
  readonly limit: number;
}

/** Parses /topics query parameters; every bad value is a 400. */
export function parseTopicsQuery(params: URLSearchParams): TopicsQuery {
  const sort = params.get('sort') ?? 'name';
  if (sort !== 'name' && sort !== 'volume') throw new InvalidQueryError('"sort" is name or volume');
  const limit = parseLimit(params.get('limit'));
  const after = params.get('after') || null;
  if (after !== null && (sort === 'volume' ? !/^\d{1,4}$/.test(after) : after.length > 128)) throw new InvalidQueryError('"after" must be the `next` of a previous page');
  const prefix = params.get('prefix') || null;
  if (prefix !== null && (prefix.length > 128 || !/^[A-Za-z0-9._-]+$/.test(prefix))) throw new InvalidQueryError('"prefix" must be the start of a topic name');
  return { sort, after, prefix, limit };
}

function parseLimit(limitText: string | null): number {
  if (limitText === null) return kDefaultLimit;
  const limit = /^\d{1,7}$/.test(limitText) ? Number(limitText) : Number.NaN;
  if (!(limit >= 1 && limit <= kMaxLimit)) throw new InvalidQueryError(`"limit" must be an integer from 1 to ${kMaxLimit}`);
  return limit;
}

export interface EventsQuery {
  readonly topic: string | null;
  /** null: no filter (every event of the topic). */
  readonly filter: EventFilter | null;
  readonly limit: number;
  readonly afterSeq: number;
  /** Whether `after` was given: /tail without one starts from now, not from the beginning. */
  readonly hasCursor: boolean;
}

const topicRegex = new RegExp(topicPattern);

/** Parses /events and /tail query parameters; every bad value is a 400. `after` must be a cursor of the running engine's version. */
export function parseEventsQuery(params: URLSearchParams, cursorVersion: CursorVersion = 1): EventsQuery {
  const topic = params.get('topic');
  if (topic !== null && (topic.length > 128 || !topicRegex.test(topic))) {
    throw new InvalidQueryError(`"topic" must match ${topicPattern} and be at most 128 characters`);
  }
  const limit = parseLimit(params.get('limit'));
  const after = params.get('after');
  const hasCursor = after !== null && after !== '';
  return { topic, filter: parseFilter(params, Date.now()), limit, afterSeq: hasCursor ? decodeCursor(after, cursorVersion) : 0, hasCursor };
}

function parseFilter(params: URLSearchParams, now: number): EventFilter | null {
  const time = (name: 'since' | 'until'): string | null => {
    const text = params.get(name);
    if (text === null) return null;
    const ms = parseTimeBound(text, now);
    if (ms === null) throw new InvalidQueryError(`"${name}" must be an RFC 3339 date-time or an age such as -15m`);
    return new Date(ms).toISOString();
  };
  const source = params.get('source');
  if (source !== null && (source.length === 0 || source.length > 128)) throw new InvalidQueryError('"source" must be 1 to 128 characters');
  const fields: FieldMatch[] = [];
  for (const [name, value] of params) {
    if (!name.startsWith('payload.')) continue;
    const path = name.slice('payload.'.length).split('.');
    if (path.length > 8 || !path.every((segment) => fieldSegmentPattern.test(segment))) {
      throw new InvalidQueryError(`"${name}": a payload field is payload.<name>[.<name>...], names of letters, digits, _ and -`);
    }
    fields.push({ path, text: value, number: fieldNumber(value) });
  }
  if (fields.length > kMaxFieldFilters) throw new InvalidQueryError(`at most ${kMaxFieldFilters} payload.<field> filters`);
  const since = time('since');
  const until = time('until');
  if (since === null && until === null && source === null && fields.length === 0) return null;
  return { since, until, source, fields };
}
