import { InvalidQueryError } from '../errors.js';

/**
 * Cursors are opaque to clients (base64url); today they carry the last seq a page returned, as
 * `v1:<seq>`. The version prefix leaves room for other engines' cursors (cluster mode's per-shard
 * clocks) without ever misreading one for another.
 */
const kPrefix = 'v1:';

export function encodeCursor(seq: number): string {
  return Buffer.from(`${kPrefix}${seq}`).toString('base64url');
}

/** The seq a cursor carries; anything this service did not hand out is a 400 invalid_query. */
export function decodeCursor(cursor: string): number {
  const text = /^[A-Za-z0-9_-]{1,64}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('latin1') : '';
  const match = /^v1:(\d{1,15})$/.exec(text);
  if (!match) throw new InvalidQueryError(`"after" is not a cursor returned by this service: ${JSON.stringify(cursor.slice(0, 80))}`);
  return Number(match[1]);
}
