/**
 * The one poll loop of the tests and benches: a wait on a condition someone else reaches (the
 * server, a NATS cluster, a child process), re-checked with a short pause between attempts, up to
 * a deadline. No test sleeps "long enough" and then asserts: it waits for what it is about to
 * check. Pauses that are part of a scenario (pacing a load, a client's back-off) are not waits and
 * stay where they are, each named.
 */

/** Between two attempts, unless the caller says otherwise: short, the condition is usually close. */
export const kPollIntervalMs = 20;

export interface WaitOptions {
  /** Give up after this long (default 5000 ms). */
  readonly timeoutMs?: number;
  /** The pause between two attempts (default `kPollIntervalMs`). */
  readonly intervalMs?: number;
}

/** What `pollUntil` and `waitFor` throw at their deadline (a failing attempt's own error is not one). */
export class WaitTimeoutError extends Error {
  override name = 'WaitTimeoutError';
}

/**
 * Calls `attempt` until it returns something other than undefined, and returns that; throws
 * `WaitTimeoutError` once `timeoutMs` passed without it. An attempt that throws ends the wait with
 * its error (catch inside the attempt to retry on errors). `what` names what is awaited, for the
 * error; a function is asked only then (it can show the last value seen).
 */
export async function pollUntil<T>(attempt: () => T | undefined | Promise<T | undefined>, what: string | (() => string), options: WaitOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new WaitTimeoutError(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? kPollIntervalMs));
  }
}

/** Polls `probe` until it says true: for state the server (or anything else) reaches on its own. `options` as a number is the timeout, ms. */
export async function waitFor(probe: () => boolean | Promise<boolean>, what: string | (() => string), options: number | WaitOptions = {}): Promise<void> {
  await pollUntil(async () => ((await probe()) ? true : undefined), what, typeof options === 'number' ? { timeoutMs: options } : options);
}
