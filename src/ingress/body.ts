import type { HttpResponse } from 'uWebSockets.js';

export interface BodyLimits {
  /** Largest body buffered; past it the rest is read and dropped, and the answer is 413. */
  readonly maxBodyBytes: number;
  /** Bytes dropped after the limit before giving up on the client and closing the connection. */
  readonly discardBytes: number;
}

export type BodyOutcome =
  | { readonly kind: 'complete'; readonly body: Buffer }
  | { readonly kind: 'too_large'; readonly bytes: number }
  | { readonly kind: 'over_budget' }
  /** The client kept sending past `discardBytes`: answer and close rather than read forever. */
  | { readonly kind: 'give_up'; readonly bytes: number };

/**
 * Bytes of request bodies buffered across all connections. Every body reserves its bytes as they
 * arrive, so thousands of concurrent uploads cannot grow memory past the budget.
 */
export class BodyBudget {
  used = 0;
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  reserve(bytes: number): boolean {
    if (this.used + bytes > this.#max) return false;
    this.used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.used -= bytes;
  }
}

/**
 * Streams a request body, counting bytes as they arrive. uWS only lends each chunk for the
 * duration of the callback, so it is copied out. When Content-Length is known the body is copied
 * straight into one buffer of that size; a chunked body is collected and joined once at the end.
 * `done` runs at most once, and never after the request was aborted.
 */
export function readBody(
  res: HttpResponse,
  contentLength: number | null,
  limits: BodyLimits,
  budget: BodyBudget | null,
  done: (outcome: BodyOutcome) => void,
): () => void {
  let received = 0;
  let reserved = 0;
  let mode: 'buffer' | 'too_large' | 'over_budget' = contentLength !== null && contentLength > limits.maxBodyBytes ? 'too_large' : 'buffer';
  let finished = false;
  const exact = mode === 'buffer' && contentLength !== null ? Buffer.allocUnsafe(contentLength) : null;
  const chunks: Buffer[] = [];

  if (exact) {
    if (!budget || budget.reserve(exact.length)) reserved = exact.length;
    else mode = 'over_budget';
  }

  const finish = (outcome: BodyOutcome): void => {
    if (finished) return;
    finished = true;
    budget?.release(reserved);
    reserved = 0;
    done(outcome);
  };

  res.onData((chunk, isLast) => {
    if (finished) return;
    const bytes = new Uint8Array(chunk);
    received += bytes.length;
    if (mode === 'buffer' && received > limits.maxBodyBytes) mode = 'too_large';
    if (mode === 'buffer') {
      if (exact) {
        if (received > exact.length) mode = 'too_large'; // the client lied about Content-Length
        else exact.set(bytes, received - bytes.length);
      } else if (!budget || budget.reserve(bytes.length)) {
        reserved += bytes.length;
        chunks.push(Buffer.from(bytes));
      } else {
        mode = 'over_budget';
      }
      if (mode !== 'buffer') {
        chunks.length = 0;
        budget?.release(reserved);
        reserved = 0;
      }
    }
    if (mode !== 'buffer' && received - limits.maxBodyBytes > limits.discardBytes) {
      finish({ kind: 'give_up', bytes: received });
      return;
    }
    if (!isLast) return;
    if (mode === 'too_large') finish({ kind: 'too_large', bytes: received });
    else if (mode === 'over_budget') finish({ kind: 'over_budget' });
    else finish({ kind: 'complete', body: exact ? exact.subarray(0, received) : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) });
  });

  // The abort handler: frees the reservation and silences `done`.
  return () => {
    finished = true;
    budget?.release(reserved);
    reserved = 0;
  };
}
