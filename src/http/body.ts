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
 * duration of the callback, so it is copied out; the chunks are joined once at the end (a body that
 * arrives in one chunk, the common case, is not copied again).
 *
 * Bytes are reserved from the budget as they arrive, never ahead of time for a declared
 * Content-Length: otherwise a few slow clients announcing large bodies and dripping a byte at a
 * time would hold the whole budget and every other publisher would get 503 (slowloris). For the
 * same reason nothing is allocated for a body before its bytes are there.
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
  const chunks: Buffer[] = [];

  const dropBuffered = (): void => {
    chunks.length = 0;
    budget?.release(reserved);
    reserved = 0;
  };

  const finish = (outcome: BodyOutcome): void => {
    if (finished) return;
    finished = true;
    dropBuffered();
    done(outcome);
  };

  res.onData((chunk, isLast) => {
    if (finished) return;
    const bytes = new Uint8Array(chunk);
    received += bytes.length;
    if (mode === 'buffer') {
      // Past the cap, or past what the client announced (uWS frames by Content-Length, so this is a guard).
      if (received > limits.maxBodyBytes || (contentLength !== null && received > contentLength)) mode = 'too_large';
      else if (bytes.length > 0 && budget && !budget.reserve(bytes.length)) mode = 'over_budget';
      else if (bytes.length > 0) {
        reserved += bytes.length;
        chunks.push(Buffer.from(bytes));
      }
      if (mode !== 'buffer') dropBuffered();
    }
    if (mode !== 'buffer' && received - limits.maxBodyBytes > limits.discardBytes) {
      finish({ kind: 'give_up', bytes: received });
      return;
    }
    if (!isLast) return;
    if (mode === 'too_large') finish({ kind: 'too_large', bytes: received });
    else if (mode === 'over_budget') finish({ kind: 'over_budget' });
    else {
      // Hand the bytes over before the reservation is released by `finish`.
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received);
      finish({ kind: 'complete', body });
    }
  });

  // The abort handler: frees the reservation and silences `done`.
  return () => {
    finished = true;
    dropBuffered();
  };
}
