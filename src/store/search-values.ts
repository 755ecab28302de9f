/**
 * The value an event counts under in /search/top and a split histogram: its topic, its source, or
 * the first string, number or boolean its payload path reaches, looking through arrays as
 * `field:value` does (search/match.ts). SQLite extracts the value beside the row where it can, so
 * the payload is parsed in JS only when the path meets an array.
 */
import { valuesAt } from '../search/match.js';
import type { ValueField } from '../search/request.js';
import type { ExtractedRow } from './search-scan.js';
import type { ShardReaders } from './shard-readers.js';

export type Scalar = string | number | boolean;

/** A row's payload by seq, for the few a narrow read must look into (called inside the scan's read transaction). */
export function payloadReader(readers: ShardReaders, shard: number): (seq: number) => string {
  const statement = readers.prepare(shard, 'SELECT payload FROM events WHERE seq = ?').pluck();
  return (seq) => statement.get(seq) as string;
}

/** Distinct values one shard tracks for top and `by`; past it, the answer is partial. */
export const kMaxDistinct = 100_000;

/**
 * A value's JSON text as SQLite's `payload -> path` gives it, when that settles what the event
 * counts under: the path went through objects only and ended at a scalar (the value), at JSON null
 * or an object (no value: `undefined`). `null`: it does not settle it (an array at the end, or
 * nothing found, perhaps behind an array on the way): the full rule decides.
 */
export function jsonScalar(text: string | null | undefined): Scalar | undefined | null {
  if (text === null || text === undefined) return null;
  switch (text[0]) {
    case '"':
      return JSON.parse(text) as string;
    case '[':
      return null;
    case '{':
    case 'n':
      return undefined;
    case 't':
      return true;
    case 'f':
      return false;
    default:
      return Number(text);
  }
}

/** The first scalar the path reaches in a payload's JSON text. */
export function payloadValue(payload: string, path: readonly string[]): Scalar | undefined {
  return valuesAt(JSON.parse(payload), path).find((value) => typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') as Scalar | undefined;
}

export function valueOf(field: ValueField, row: ExtractedRow, payloadOf: (seq: number) => string): Scalar | undefined {
  if (field.kind === 'topic') return row.topic;
  if (field.kind === 'source') return row.source;
  const settled = jsonScalar(row.value);
  return settled !== null ? settled : payloadValue(row.payload ?? payloadOf(row.seq), field.path);
}
