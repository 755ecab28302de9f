/**
 * The parameters of /search, /search/histogram and /search/top (spec/search.md), parsed and
 * checked before any work: every bad value is a 400 `invalid_query` naming the parameter.
 */
import { isTopicGlob } from './glob.js';
import { InvalidQueryError } from '../errors.js';
import { decodeCursor, type CursorVersion } from '../events/cursor.js';
import { fieldSegmentPattern, kDefaultLimit, kMaxLimit } from '../events/query.js';
import { parseDuration, parseTimeBound } from '../events/time-bound.js';
import { parseSearchQuery, type SearchQuery } from './query.js';

/** What every search route filters by; times are the event's own timestamp in ms, `since` inclusive, `until` exclusive. */
export interface SearchFilter {
  readonly query: SearchQuery;
  /** A topic, or a glob with `*`; null: every topic. */
  readonly topic: string | null;
  readonly sinceMs: number | null;
  readonly untilMs: number | null;
}

/** How much one request may do: past either, it answers with what it has and `partial: true`. */
export interface SearchBounds {
  /** Stored events read (per page: per shard; per aggregation: in all). */
  readonly maxRows: number;
  readonly timeoutMs: number;
}

export type SearchOrder = 'asc' | 'desc';

export interface SearchPageQuery extends SearchFilter, SearchBounds {
  readonly order: SearchOrder;
  /** The cursor's seq: asc continues above it, desc below it; null: from the start of that order. */
  readonly after: number | null;
  /** The commit watermark when the request came: nothing above it is read. */
  readonly maxSeq: number;
  readonly limit: number;
}

/** What top and histogram's `by` count by. */
export type ValueField = { readonly kind: 'topic' } | { readonly kind: 'source' } | { readonly kind: 'payload'; readonly path: readonly string[] };

export interface HistogramQuery extends SearchFilter, SearchBounds {
  readonly sinceMs: number;
  readonly untilMs: number;
  readonly buckets: number;
  readonly stepMs: number;
  readonly by: ValueField | null;
  readonly maxSeq: number;
}

export interface TopQuery extends SearchFilter, SearchBounds {
  readonly field: ValueField;
  readonly limit: number;
  readonly maxSeq: number;
}

export const kMaxBuckets = 1000;
export const kDefaultBuckets = 60;
export const kMaxTopLimit = 100;
export const kDefaultTopLimit = 10;
const kDefaultHistogramSpanMs = 3_600_000;

export function parseSearchParams(params: URLSearchParams, cursorVersion: CursorVersion, maxSeq: number, bounds: SearchBounds, now = Date.now()): SearchPageQuery {
  const order = params.get('order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc') throw new InvalidQueryError('"order" is asc or desc');
  const after = params.get('after');
  return {
    ...parseFilter(params, now),
    ...bounds,
    order,
    after: after === null || after === '' ? null : decodeCursor(after, cursorVersion),
    maxSeq,
    limit: parseInteger(params, 'limit', kDefaultLimit, kMaxLimit),
  };
}

export function parseHistogramParams(params: URLSearchParams, maxSeq: number, bounds: SearchBounds, now = Date.now()): HistogramQuery {
  const filter = parseFilter(params, now);
  const untilMs = filter.untilMs ?? now;
  const sinceMs = filter.sinceMs ?? untilMs - kDefaultHistogramSpanMs;
  if (!(sinceMs < untilMs)) throw new InvalidQueryError('"since" must be before "until"');
  const span = untilMs - sinceMs;
  const stepText = params.get('step');
  if (stepText !== null && params.has('buckets')) throw new InvalidQueryError('give "buckets" or "step", not both');
  let buckets: number;
  let stepMs: number;
  if (stepText !== null) {
    const step = parseDuration(stepText);
    if (step === null || step < 1) throw new InvalidQueryError('"step" must be a duration such as 10s, 1m or 1h');
    buckets = Math.ceil(span / step);
    if (buckets > kMaxBuckets) throw new InvalidQueryError(`"step" makes ${buckets} buckets of the range; at most ${kMaxBuckets}`);
    stepMs = step;
  } else {
    buckets = parseInteger(params, 'buckets', kDefaultBuckets, kMaxBuckets);
    stepMs = span / buckets;
  }
  const by = params.get('by');
  return { ...filter, ...bounds, sinceMs, untilMs, buckets, stepMs, by: by === null ? null : parseValueField(by, 'by'), maxSeq };
}

export function parseTopParams(params: URLSearchParams, maxSeq: number, bounds: SearchBounds, now = Date.now()): TopQuery {
  return { ...parseFilter(params, now), ...bounds, field: parseValueField(params.get('field') ?? 'topic', 'field'), limit: parseInteger(params, 'limit', kDefaultTopLimit, kMaxTopLimit), maxSeq };
}

/** The name of a value field as the answers write it. */
export function valueFieldName(field: ValueField): string {
  return field.kind === 'payload' ? `payload.${field.path.join('.')}` : field.kind;
}

function parseFilter(params: URLSearchParams, now: number): SearchFilter {
  const topic = params.get('topic') || null;
  if (topic !== null && !isTopicGlob(topic)) throw new InvalidQueryError('"topic" must be a topic name or a glob of one with * (letters, digits, ., _, -), at most 128 characters');
  return { query: parseSearchQuery(params.get('q') ?? ''), topic, sinceMs: time(params, 'since', now), untilMs: time(params, 'until', now) };
}

function time(params: URLSearchParams, name: 'since' | 'until', now: number): number | null {
  const text = params.get(name);
  if (text === null || text === '') return null;
  const ms = parseTimeBound(text, now);
  if (ms === null) throw new InvalidQueryError(`"${name}" must be an RFC 3339 date-time or an age such as -15m`);
  return ms;
}

function parseInteger(params: URLSearchParams, name: string, fallback: number, max: number): number {
  const text = params.get(name);
  if (text === null) return fallback;
  const value = /^\d{1,7}$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= 1 && value <= max)) throw new InvalidQueryError(`"${name}" must be an integer from 1 to ${max}`);
  return value;
}

function parseValueField(text: string, name: string): ValueField {
  if (text === 'topic' || text === 'source') return { kind: text };
  const path = text.startsWith('payload.') ? text.slice('payload.'.length).split('.') : [];
  if (path.length === 0 || path.length > 8 || !path.every((segment) => fieldSegmentPattern.test(segment))) {
    throw new InvalidQueryError(`"${name}" must be topic, source or payload.<path> (names of letters, digits, _ and - joined by dots)`);
  }
  return { kind: 'payload', path };
}
