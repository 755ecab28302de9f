import { AggregatorClient, type StatsCounters } from './client.js';
import { encodeBody } from './encode.js';
import { PublisherError } from './errors.js';
import { generateStream, splitRequests, type PublisherEvent, type RequestSlice } from './generate.js';
import type { PublisherOptions } from './options.js';
import { Progress, progressStyle, type ProgressStream } from './progress.js';
import { latencySummary, type PublisherReport } from './report.js';
import { describeVerify, verifyStats, type VerifyResult } from './verify.js';

export interface RunIo {
  /** Where progress goes; process.stderr by default (stdout stays clean for --json). */
  readonly progressStream?: ProgressStream;
  /** Aborting stops new requests, cancels waits and in-flight requests, and yields a partial report. */
  readonly signal?: AbortSignal;
}

/** The run's counters, updated as answers arrive and sampled by the progress display. */
interface Tally {
  total: number;
  sent: number;
  acknowledged: number;
  unique: number;
  duplicates: number;
  requests: number;
  retries: number;
  failed: number;
  possiblyStoredTwice: number;
}

/**
 * Generates the seeded stream, publishes it at least once over `concurrency` keep-alive
 * connections, and reports what the server acknowledged. It never throws for a failed request or
 * a failed check: those come back as `report.ok === false` with `report.error`, so the CLI, the
 * demo and tests decide what a failure means to them.
 */
export async function runPublisher(options: PublisherOptions, io: RunIo = {}): Promise<PublisherReport> {
  const stream = generateStream({ count: options.events, duplicateRatio: options.duplicateRatio, topics: options.topics, seed: options.seed, runId: options.runId });
  const slices = splitRequests(options.events, options.mode, options.batchSize, options.seed);
  const client = new AggregatorClient({ url: options.url, concurrency: options.concurrency, maxRetries: options.maxRetries, timeoutMs: options.timeoutMs, signal: io.signal });
  const tally: Tally = { total: options.events, sent: 0, acknowledged: 0, unique: 0, duplicates: 0, requests: 0, retries: 0, failed: 0, possiblyStoredTwice: 0 };
  const latencies: number[] = [];
  let failure: PublisherError | null = null;
  let verify: VerifyResult | null = null;
  let elapsedMs = 0;

  const progressStream = io.progressStream ?? process.stderr;
  const progress = new Progress(progressStyle(options.progress, progressStream), progressStream, () => tally);

  try {
    const before = options.verify ? await readStats(client, 'before publishing') : null;
    const started = performance.now();
    progress.start();
    let nextSlice = 0;
    const worker = async (): Promise<void> => {
      // After the first final failure no new request starts: the server is down or refusing, and
      // piling more requests on it would only bury that first message.
      while (failure === null && io.signal?.aborted !== true) {
        const index = nextSlice++;
        const slice = slices[index];
        if (!slice) return;
        const outcome = await publishSlice(client, stream.slice(slice.start, slice.end), slice, options, tally);
        if (outcome instanceof PublisherError) {
          tally.failed++;
          failure ??= new PublisherError(outcome.code, `request ${index + 1} of ${slices.length} (${plural(slice.end - slice.start, 'event')}): ${outcome.message}`);
        } else {
          latencies.push(outcome);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.concurrency, slices.length) }, worker));
    elapsedMs = performance.now() - started;
    progress.stop();
    if (failure === null && io.signal?.aborted === true) failure = new PublisherError('aborted', 'interrupted before every request was sent');

    if (before && failure === null) {
      const after = await readStats(client, 'after publishing');
      verify = verifyStats(before, after, { sent: tally.acknowledged, distinct: stream.distinct, possiblyStoredTwice: tally.possiblyStoredTwice });
    }
  } catch (error) {
    if (!(error instanceof PublisherError)) throw error;
    failure ??= error;
  } finally {
    progress.stop();
    client.close();
  }

  const error = failure
    ? { code: failure.code, message: failure.message }
    : verify && !verify.ok
      ? { code: 'verify_mismatch' as const, message: `/stats did not move as expected: ${describeVerify(verify)}` }
      : null;
  const elapsedS = elapsedMs / 1000;
  return {
    ok: error === null,
    run_id: options.runId,
    seed: options.seed,
    url: options.url,
    mode: options.mode,
    format: options.format,
    concurrency: options.concurrency,
    events_planned: options.events,
    events_sent: tally.sent,
    events_acknowledged: tally.acknowledged,
    unique: tally.unique,
    duplicates: tally.duplicates,
    expected_unique: stream.distinct,
    expected_duplicates: stream.duplicates,
    requests: tally.requests,
    retries: tally.retries,
    failed_requests: tally.failed,
    elapsed_s: Math.round(elapsedS * 1000) / 1000,
    events_per_s: elapsedS > 0 ? Math.round(tally.acknowledged / elapsedS) : 0,
    latency_ms: latencySummary(latencies),
    verify,
    interrupted: io.signal?.aborted === true,
    error,
  };
}

/** Sends one request to the end; resolves with its latency (ms) or the final failure. */
async function publishSlice(
  client: AggregatorClient,
  events: readonly PublisherEvent[],
  slice: RequestSlice,
  options: PublisherOptions,
  tally: Tally,
): Promise<number | PublisherError> {
  const body = encodeBody(events, slice.single, options.format);
  tally.requests++;
  tally.sent += body.eventCount;
  try {
    const ack = await client.publish(body, (notice) => {
      tally.retries++;
      tally.requests++;
      if (notice.possiblyStored) tally.possiblyStoredTwice += body.eventCount;
    });
    tally.acknowledged += ack.accepted;
    tally.unique += ack.unique;
    tally.duplicates += ack.duplicates;
    return ack.latencyMs;
  } catch (error) {
    if (error instanceof PublisherError) return error;
    throw error;
  }
}

async function readStats(client: AggregatorClient, when: string): Promise<StatsCounters> {
  try {
    return await client.stats();
  } catch (error) {
    if (!(error instanceof PublisherError)) throw error;
    throw new PublisherError(error.code, `--verify could not read /stats ${when}: ${error.message}`);
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
