import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { BadRequestError, OverloadedError, TooLargeError } from '../errors.js';
import { BodyBudget, readBody, type BodyLimits } from './body.js';
import { bodyFormat } from '../events/decode.js';
import type { IngestPipeline } from '../ingest/pipeline.js';
import type { Reply } from './reply.js';

export interface PublishHandlerOptions extends BodyLimits {
  readonly maxBufferedBodyBytes: number;
}

/** POST /publish on the socket side: stream the body under its caps, hand the bytes to the IngestPipeline. */
export class PublishHandler {
  readonly #pipeline: IngestPipeline;
  readonly #options: PublishHandlerOptions;
  readonly #budget: BodyBudget;
  #inFlight = 0;

  constructor(pipeline: IngestPipeline, options: PublishHandlerOptions) {
    this.#pipeline = pipeline;
    this.#options = options;
    this.#budget = new BodyBudget(options.maxBufferedBodyBytes);
  }

  /** Requests being read or waiting for their commit. */
  get inFlight(): number {
    return this.#inFlight;
  }

  handle(res: HttpResponse, req: HttpRequest, reply: Reply): void {
    // HttpRequest is only valid until this function returns: read everything now.
    const contentType = req.getHeader('content-type');
    const lengthHeader = req.getHeader('content-length');
    if (hasConflictingLengths(req)) {
      // uWS frames the body by the first header; a proxy in front may have used the other one.
      // Either reading is a guess (request smuggling), so refuse and close the connection.
      reply.error(new BadRequestError('conflicting Content-Length headers'), { close: true });
      return;
    }
    const wantsResults = /^(1|true)$/.test(req.getQuery('results') ?? '');
    const contentLength = /^\d{1,15}$/.test(lengthHeader) ? Number(lengthHeader) : null;
    this.#inFlight++;
    let streaming = true;
    const finish = (): void => {
      this.#inFlight--;
    };
    const cancel = readBody(res, contentLength, this.#options, this.#budget, (outcome) => {
      streaming = false;
      switch (outcome.kind) {
        case 'too_large':
        case 'give_up':
          reply.error(new TooLargeError(`body is over ${this.#options.maxBodyBytes} bytes`), { close: outcome.kind === 'give_up' });
          return finish();
        case 'over_budget':
          reply.error(new OverloadedError('too many request bodies are being received at once'));
          return finish();
        case 'complete':
          try {
            this.#pipeline
              .ingest(outcome.body, bodyFormat(contentType), wantsResults)
              .then(
                (result) => reply.send(200, JSON.stringify(result)),
                (error: unknown) => reply.error(error),
              )
              .finally(finish);
          } catch (error) {
            reply.error(error);
            finish();
          }
      }
    });
    reply.onAbort(() => {
      cancel();
      // Once the body is complete the publish runs on and `finish` comes from its settlement.
      if (streaming) finish();
    });
  }
}

function hasConflictingLengths(req: HttpRequest): boolean {
  let first: string | null = null;
  let conflict = false;
  req.forEach((name, value) => {
    if (name !== 'content-length') return;
    if (first === null) first = value.trim();
    else if (value.trim() !== first) conflict = true;
  });
  return conflict;
}
