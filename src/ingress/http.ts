import uWS, { type HttpRequest, type HttpResponse, type TemplatedApp, type us_listen_socket } from 'uWebSockets.js';
import { MethodNotAllowedError, NotFoundError, OverloadedError, TooLargeError } from '../errors.js';
import type { ReaderPool } from '../workers/reader-pool.js';
import type { ShardPool } from '../workers/shard-pool.js';
import { BodyBudget, readBody, type BodyLimits } from './body.js';
import { bodyFormat } from './decode.js';
import { encodeCursor, parseEventsQuery } from './events-query.js';
import type { Publisher } from './publish.js';
import { replyError, replyJson, type ResponseState } from './respond.js';
import type { Sequencer } from './sequencer.js';

export interface HttpOptions extends BodyLimits {
  readonly host: string;
  readonly port: number;
  readonly maxBufferedBodyBytes: number;
  readonly retryAfterSeconds: number;
}

export interface HttpDependencies {
  readonly publisher: Publisher;
  readonly shards: ShardPool;
  readonly readers: ReaderPool;
  readonly sequencer: Sequencer;
}

/**
 * The uWebSockets.js binding: routes, body streaming and answers. It stays thin; what a request
 * means is decided by the Publisher and the query parser, which take plain values.
 */
export class HttpServer {
  readonly #app: TemplatedApp;
  readonly #options: HttpOptions;
  readonly #deps: HttpDependencies;
  readonly #budget: BodyBudget;
  readonly #startedAt = performance.now();
  #listenSocket: us_listen_socket | null = null;
  #inFlight = 0;

  constructor(options: HttpOptions, deps: HttpDependencies) {
    this.#options = options;
    this.#deps = deps;
    this.#budget = new BodyBudget(options.maxBufferedBodyBytes);
    this.#app = uWS
      .App()
      .post('/publish', (res, req) => this.#publish(res, req))
      .get('/events', (res, req) => this.#events(res, req))
      .get('/stats', (res) => this.#stats(res))
      .get('/health', (res) => this.#health(res))
      .any('/publish', (res, req) => this.#refuse(res, new MethodNotAllowedError(req.getMethod(), '/publish'), { Allow: 'POST' }))
      .any('/events', (res, req) => this.#refuse(res, new MethodNotAllowedError(req.getMethod(), '/events'), { Allow: 'GET' }))
      .any('/stats', (res, req) => this.#refuse(res, new MethodNotAllowedError(req.getMethod(), '/stats'), { Allow: 'GET' }))
      .any('/health', (res, req) => this.#refuse(res, new MethodNotAllowedError(req.getMethod(), '/health'), { Allow: 'GET' }))
      .any('/*', (res, req) => this.#refuse(res, new NotFoundError(req.getUrl())));
  }

  /** Resolves with the bound port (useful with port 0). */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#app.listen(this.#options.host, this.#options.port, (socket) => {
        if (!socket) {
          reject(new Error(`cannot listen on ${this.#options.host}:${this.#options.port} (in use or not permitted)`));
          return;
        }
        this.#listenSocket = socket;
        resolve(uWS.us_socket_local_port(socket as unknown as uWS.us_socket));
      });
    });
  }

  /** Stops accepting connections; requests already in flight still get their answers. */
  stopListening(): void {
    if (this.#listenSocket) uWS.us_listen_socket_close(this.#listenSocket);
    this.#listenSocket = null;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  #publish(res: HttpResponse, req: HttpRequest): void {
    const state: ResponseState = { aborted: false };
    const contentType = req.getHeader('content-type');
    const lengthHeader = req.getHeader('content-length');
    const wantsResults = /^(1|true)$/.test(req.getQuery('results') ?? '');
    const contentLength = /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : null;
    const retryAfter = this.#options.retryAfterSeconds;
    this.#inFlight++;
    const answered = (): void => {
      this.#inFlight--;
    };
    const abortBody = readBody(res, contentLength, this.#options, this.#budget, (outcome) => {
      switch (outcome.kind) {
        case 'too_large':
        case 'give_up':
          replyError(res, state, new TooLargeError(`body is over ${this.#options.maxBodyBytes} bytes`), retryAfter, { close: outcome.kind === 'give_up' });
          answered();
          return;
        case 'over_budget':
          replyError(res, state, new OverloadedError('too many request bodies are being received at once'), retryAfter);
          answered();
          return;
        case 'complete':
          try {
            this.#deps.publisher.publish(outcome.body, bodyFormat(contentType), wantsResults).then(
              (result) => replyJson(res, state, 200, JSON.stringify(result)),
              (error: unknown) => replyError(res, state, error, retryAfter),
            ).finally(answered);
          } catch (error) {
            replyError(res, state, error, retryAfter);
            answered();
          }
      }
    });
    res.onAborted(() => {
      state.aborted = true;
      abortBody();
    });
  }

  #events(res: HttpResponse, req: HttpRequest): void {
    const state: ResponseState = { aborted: false };
    res.onAborted(() => {
      state.aborted = true;
    });
    try {
      const query = parseEventsQuery(new URLSearchParams(req.getQuery() ?? ''));
      const maxSeq = this.#deps.sequencer.watermark;
      this.#deps.readers.page({ topic: query.topic, afterSeq: query.afterSeq, maxSeq, limit: query.limit }).then(
        (page) => {
          const next = page.lastSeq === null ? 'null' : JSON.stringify(encodeCursor(page.lastSeq));
          const body = `{"topic":${JSON.stringify(query.topic)},"count":${page.count},"next":${next},"events":${page.eventsJson}}`;
          replyJson(res, state, 200, body);
        },
        (error: unknown) => replyError(res, state, error, this.#options.retryAfterSeconds),
      );
    } catch (error) {
      replyError(res, state, error, this.#options.retryAfterSeconds);
    }
  }

  #stats(res: HttpResponse): void {
    const { shards, sequencer } = this.#deps;
    const totals = shards.totals;
    const topics = [...totals.topics.keys()].sort();
    const body = {
      received: totals.received,
      unique_processed: totals.unique,
      duplicate_dropped: totals.duplicates,
      rejected: totals.rejected,
      topics,
      uptime: Math.round((performance.now() - this.#startedAt) / 10) / 100,
      shards: shards.shardCount,
      in_flight_requests: this.#inFlight,
      watermark_seq: sequencer.watermark,
      topic_counts: Object.fromEntries(
        topics.map((topic) => {
          const counts = totals.topics.get(topic)!;
          return [topic, { received: counts.received, unique_processed: counts.unique, duplicate_dropped: counts.duplicates }];
        }),
      ),
      shard_status: shards.shardStats(),
    };
    replyJson(res, { aborted: false }, 200, JSON.stringify(body));
  }

  #health(res: HttpResponse): void {
    const problems = this.#deps.shards.problems();
    if (problems.length === 0) replyJson(res, { aborted: false }, 200, '{"status":"ok"}');
    else replyJson(res, { aborted: false }, 503, JSON.stringify({ status: 'unavailable', reason: problems.join('; ') }));
  }

  #refuse(res: HttpResponse, error: Error, headers?: Record<string, string>): void {
    replyError(res, { aborted: false }, error, this.#options.retryAfterSeconds, headers ? { headers } : {});
  }
}
