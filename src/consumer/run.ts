import { Consumer } from './consumer.js';
import { ConsumerError, Transport, type RetryNotice } from './http.js';
import type { ConsumerCliOptions } from './options.js';
import type { ConsumerReport } from './report.js';
import { AckLedger, describeVerify, topicsToCheck, verifyRun, type VerifyResult } from './verify.js';

export interface RunIo {
  /** Aborting stops the run (running handlers finish, their acks are sent) and yields a report. */
  readonly signal?: AbortSignal;
  /** Where --print writes events; process.stdout by default. */
  readonly out?: { write(text: string): unknown };
  /** Where retry notices go; process.stderr by default. */
  readonly log?: { write(text: string): unknown };
  /** Decides --fail-rate's failures; Math.random by default. */
  readonly random?: () => number;
}

// Fewer than this between fetches would only hammer an idle server.
const kMinIdleWaitMs = 100;

/**
 * The `aggregator-consumer` run: consumes the group until --count, --exit-when-idle or the signal,
 * then checks (--verify) and reports. A failed request or check comes back as `report.ok === false`
 * with `report.error`, never as a throw, so the CLI and tests decide what a failure means to them.
 */
export async function runConsumer(options: ConsumerCliOptions, io: RunIo = {}): Promise<ConsumerReport> {
  const out = io.out ?? process.stdout;
  const log = io.log ?? process.stderr;
  const random = io.random ?? Math.random;
  const ledger = options.verify ? new AckLedger() : null;
  let lastArrival = performance.now();
  let ackedSoFar = 0;
  let retries = 0;
  const onRetry = (notice: RetryNotice): void => {
    retries++;
    log.write(`retry ${notice.attempt + 1}: ${notice.what}: ${notice.reason} (again in ${notice.delayMs} ms)\n`);
  };

  const consumer: Consumer = new Consumer({
    url: options.url,
    group: options.group,
    token: options.token ?? undefined,
    concurrency: options.concurrency,
    maxBatch: options.max,
    // An idle stop lets the fetch in flight return first: keep each fetch within the idle window.
    waitMs: options.exitWhenIdle > 0 ? Math.min(options.waitMs, Math.max(kMinIdleWaitMs, options.exitWhenIdle)) : options.waitMs,
    nakDelayMs: options.nakDelayMs ?? undefined,
    create: options.topics.length > 0 ? { topics: options.topics, start: 'earliest' } : undefined,
    signal: io.signal,
    maxRetries: options.maxRetries,
    timeoutMs: options.timeoutMs,
    onRetry,
    handler: async (message) => {
      lastArrival = performance.now();
      ledger?.saw(message.event.topic);
      if (options.failRate > 0 && random() < options.failRate) throw new Error('failing on purpose (--fail-rate)');
      if (options.print) out.write(`${JSON.stringify(message.event)}\n`);
    },
    onAck: (message, status) => {
      ledger?.record(message.event.topic, message.event.event_id, status);
      if (status === 'acked' && options.count > 0 && ++ackedSoFar >= options.count) void consumer.stop();
    },
  });

  // A handler running counts as activity: only a consumer with nothing to do is idle.
  const idleTimer =
    options.exitWhenIdle > 0
      ? setInterval(() => {
          if (performance.now() - lastArrival >= options.exitWhenIdle && consumer.inFlight === 0) void consumer.stop();
        }, Math.min(1000, Math.max(10, options.exitWhenIdle / 4)))
      : null;

  let failure: ConsumerError | null = null;
  const started = performance.now();
  try {
    await consumer.run();
  } catch (error) {
    if (!(error instanceof ConsumerError)) throw error;
    failure = error;
  } finally {
    if (idleTimer) clearInterval(idleTimer);
  }
  const durationS = (performance.now() - started) / 1000;
  const interrupted = io.signal?.aborted === true;

  let verify: VerifyResult | null = null;
  if (ledger && failure === null && !interrupted) {
    const reader = new Transport({ url: options.url, token: options.readToken ?? undefined, maxRetries: options.maxRetries, timeoutMs: options.timeoutMs, onRetry });
    try {
      verify = await verifyRun(ledger, topicsToCheck(ledger, options.topics), reader);
    } catch (error) {
      if (!(error instanceof ConsumerError)) throw error;
      failure = new ConsumerError(error.code, `--verify could not read the stored events: ${error.message}`);
    } finally {
      reader.close();
    }
  }

  const counters = consumer.counters;
  const error = failure
    ? { code: failure.code, message: failure.message }
    : verify && !verify.ok
      ? { code: 'verify_mismatch' as const, message: `the stored events and this run's acks disagree: ${describeVerify(verify)}` }
      : null;
  return {
    ok: error === null,
    url: options.url,
    group: options.group,
    concurrency: options.concurrency,
    fetched: counters.fetched,
    redelivered: counters.redelivered,
    processed: counters.processed,
    failures: counters.failures,
    acked: counters.acked,
    already_acked: counters.alreadyAcked,
    unknown_acks: counters.unknownAcks,
    naked: counters.naked,
    released: counters.released,
    retries,
    duration_s: Math.round(durationS * 1000) / 1000,
    rate: durationS > 0 ? Math.round(counters.acked / durationS) : 0,
    verify,
    interrupted,
    error,
  };
}
