import { InvalidQueryError } from '../errors.js';

/**
 * Cursors are opaque to clients (base64url) and carry the last seq a page returned, under the
 * version of the engine that handed it out: `v1:<seq>` from the embedded engine (one dense
 * sequence), `v2:<seq>` from the cluster (per-shard log clocks, src/store/log-position.ts).
 * An engine refuses the other's cursors rather than misread one for a position it never had.
 */
export type CursorVersion = 1 | 2;

export function encodeCursor(seq: number, version: CursorVersion = 1): string {
  return Buffer.from(`v${version}:${seq}`).toString('base64url');
}

/** The seq a cursor carries; anything this engine did not hand out is a 400 invalid_query. */
export function decodeCursor(cursor: string, version: CursorVersion = 1): number {
  const text = /^[A-Za-z0-9_-]{1,64}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('latin1') : '';
  const match = /^v([12]):(\d{1,16})$/.exec(text);
  const seq = match ? Number(match[2]) : Number.NaN;
  if (!match || !Number.isSafeInteger(seq)) throw new InvalidQueryError(`"after" is not a cursor returned by this service: ${JSON.stringify(cursor.slice(0, 80))}`);
  if (Number(match[1]) !== version) {
    throw new InvalidQueryError(`"after" is a v${match[1]} cursor, from ${match[1] === '1' ? 'a single-node' : 'a cluster'} service; this one hands out v${version} cursors: start again without "after"`);
  }
  return seq;
}
