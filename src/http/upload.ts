import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { BadRequestError, OverloadedError, TooLargeError } from '../errors.js';
import { BodyBudget, readBody, type BodyLimits } from './body.js';
import { contentCodingOf, decodeContent } from './content-encoding.js';
import type { Reply } from './reply.js';

export interface UploadOptions extends BodyLimits {
  readonly maxBufferedBodyBytes: number;
}

/** What an ingest route makes of a whole body: the answer (status, body, headers), once its events are committed. */
export interface UploadRequest {
  readonly body: Buffer;
  readonly contentType: string;
  /** The request's query string and route parameters, read before the body arrived (uWS's request is gone by then). */
  readonly query: URLSearchParams;
  readonly parameters: readonly string[];
  /** The client's address, as text. */
  readonly remoteAddress?: string;
}

export interface Answer {
  readonly status: number;
  readonly body: string | Uint8Array;
  /** Absent: application/json. */
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export type UploadHandler = (request: UploadRequest) => Promise<Answer>;

/**
 * Every ingest route on the socket side (/publish, the shipper routes): refuses an ambiguous
 * message, streams the body under its caps and the global body budget, hands the bytes to the
 * route's handler and writes its answer. Counts the requests in flight for /stats.
 */
export class Uploads {
  readonly #options: UploadOptions;
  readonly #budget: BodyBudget;
  #inFlight = 0;

  constructor(options: UploadOptions) {
    this.#options = options;
    this.#budget = new BodyBudget(options.maxBufferedBodyBytes);
  }

  /** Requests being read or waiting for their commit. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Returns the uWS handler of one route; `parameters` names how many route parameters to read. */
  route(handler: UploadHandler, parameters = 0): (res: HttpResponse, req: HttpRequest, reply: Reply) => void {
    return (res, req, reply) => this.#receive(res, req, reply, handler, parameters);
  }

  #receive(res: HttpResponse, req: HttpRequest, reply: Reply, handler: UploadHandler, parameterCount: number): void {
    // HttpRequest is only valid until this function returns: read everything now.
    const contentType = req.getHeader('content-type');
    const lengthHeader = req.getHeader('content-length');
    const encoding = req.getHeader('content-encoding');
    if (hasConflictingLengths(req)) {
      // uWS frames the body by the first header; a proxy in front may have used the other one.
      // Either reading is a guess (request smuggling), so refuse and close the connection.
      reply.error(new BadRequestError('conflicting Content-Length headers'), { close: true });
      return;
    }
    const query = new URLSearchParams(req.getQuery() ?? '');
    const parameters = Array.from({ length: parameterCount }, (_, index) => req.getParameter(index) ?? '');
    const remoteAddress = Buffer.from(res.getRemoteAddressAsText()).toString();
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
            // Inflated bytes are held like received ones: reserved from the same budget.
            let held = 0;
            decodeContent(outcome.body, contentCodingOf(encoding), this.#options.maxBodyBytes)
              .then((body) => {
                if (body !== outcome.body) {
                  if (!this.#budget.reserve(body.length)) throw new OverloadedError('too many request bodies are being received at once');
                  held = body.length;
                }
                return handler({ body, contentType, query, parameters, remoteAddress });
              })
              .finally(() => this.#budget.release(held))
              .then(
                // An Answer carries its own headers and content type, as ReplyOptions names them.
                (answer) => reply.send(answer.status, answer.body, answer),
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
