import { ClientError, isRecord, parseJson, serverError } from '../client/errors.js';
import { Transport, type Answer, type RetryNotice } from '../client/transport.js';
import type { EncodedBody } from './encode.js';
import { PublisherError } from './errors.js';

export type { RetryNotice } from '../client/transport.js';

export interface ClientOptions {
  readonly url: string;
  readonly concurrency: number;
  readonly maxRetries: number;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

export interface Acknowledgement {
  readonly accepted: number;
  readonly unique: number;
  readonly duplicates: number;
  /** Round trip of the attempt that got the 200, ms. */
  readonly latencyMs: number;
}

export interface StatsCounters {
  readonly received: number;
  readonly unique_processed: number;
  readonly duplicate_dropped: number;
}

/**
 * The publisher CLI's view of the aggregator: whole request bodies in its own formats (single
 * events, NDJSON, msgpack) over the client library's transport, which owns the sockets and the
 * retry policy; this class only reads the answers and names failures as the CLI reports them.
 */
export class AggregatorClient {
  readonly #transport: Transport;

  constructor(options: ClientOptions) {
    this.#transport = new Transport(options);
  }

  /** POST /publish until a 200 or a final failure (thrown as PublisherError). */
  async publish(body: EncodedBody, onRetry?: (notice: RetryNotice) => void): Promise<Acknowledgement> {
    const answer = await this.#send('POST', '/publish', body, onRetry);
    return { ...parseAcknowledgement(answer.text, body.eventCount), latencyMs: answer.latencyMs };
  }

  /** GET /stats (retried like a publish: reading is idempotent). */
  async stats(): Promise<StatsCounters> {
    const answer = await this.#send('GET', '/stats', null);
    const parsed = parseJson(answer.text);
    const reply = isRecord(parsed) ? parsed : {};
    const counters = { received: reply.received, unique_processed: reply.unique_processed, duplicate_dropped: reply.duplicate_dropped };
    if (!Object.values(counters).every((value) => Number.isInteger(value))) {
      throw new PublisherError('bad_reply', `GET /stats answered without integer counters: ${answer.text.slice(0, 200)}`);
    }
    return counters as StatsCounters;
  }

  /** Closes the pooled sockets so the process can exit. */
  close(): void {
    this.#transport.close();
  }

  async #send(method: 'GET' | 'POST', path: string, body: EncodedBody | null, onRetry?: (notice: RetryNotice) => void): Promise<Answer> {
    let answer: Answer;
    try {
      answer = await this.#transport.send(method, path, body, onRetry);
    } catch (error) {
      // The transport's failures (retries_exhausted, aborted) are codes the CLI's report also has.
      if (error instanceof ClientError && (error.code === 'retries_exhausted' || error.code === 'aborted')) throw new PublisherError(error.code, error.message);
      throw error;
    }
    if (answer.status !== 200) throw new PublisherError('refused', `${method} ${path} answered ${answer.status} ${serverError(answer.text).text} (not retried)`);
    return answer;
  }
}

function parseAcknowledgement(text: string, eventCount: number): Omit<Acknowledgement, 'latencyMs'> {
  const reply = parseJson(text);
  const { accepted, unique, duplicates } = isRecord(reply) ? reply : {};
  if (
    typeof accepted !== 'number' || typeof unique !== 'number' || typeof duplicates !== 'number' ||
    accepted !== eventCount || unique + duplicates !== accepted || unique < 0 || duplicates < 0
  ) {
    throw new PublisherError('bad_reply', `POST /publish of ${eventCount} event(s) answered 200 with ${text.slice(0, 200)}`);
  }
  return { accepted, unique, duplicates };
}
