/**
 * The consumer group routes under /groups (docs/API.md "Consumer groups"): JSON in, JSON out, the
 * work in `GroupService`. Bodies are checked here; a bad one is 400 `invalid_group` (or `bad_json`).
 */
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { textOf } from '../events/decode.js';
import { AggregatorError, BadJsonError } from '../errors.js';
import { kGroupBounds } from '../groups/model.js';
import type { GroupService, SettleVerb } from '../delivery/group-service.js';
import type { Reply } from './reply.js';
import type { Answer, UploadHandler, UploadRequest } from './upload.js';

const kDefaultFetch = { max: 100, waitMs: 5000 };
const kMaxReason = 256;

export class GroupHandlers {
  readonly #groups: GroupService;

  constructor(groups: GroupService) {
    this.#groups = groups;
  }

  readonly put: UploadHandler = async (request) => {
    const { created, view } = await this.#groups.put(request.parameters[0]!, bodyOf(request));
    return { status: created ? 201 : 200, body: JSON.stringify(view) };
  };

  list(_res: HttpResponse, _req: HttpRequest, reply: Reply): void {
    this.#groups.list().then(
      (groups) => reply.send(200, JSON.stringify({ groups })),
      (error: unknown) => reply.error(error),
    );
  }

  get(_res: HttpResponse, req: HttpRequest, reply: Reply): void {
    this.#groups.view(req.getParameter(0) ?? '').then(
      (view) => reply.send(200, JSON.stringify(view)),
      (error: unknown) => reply.error(error),
    );
  }

  delete(_res: HttpResponse, req: HttpRequest, reply: Reply): void {
    this.#groups.delete(req.getParameter(0) ?? '').then(
      () => reply.send(204, ''),
      (error: unknown) => reply.error(error),
    );
  }

  readonly fetch: UploadHandler = async (request) => {
    const body = request.body.length === 0 ? {} : objectOf(bodyOf(request));
    const max = integer(body, 'max', kDefaultFetch.max, 1, kGroupBounds.fetchMax);
    const waitMs = integer(body, 'wait_ms', kDefaultFetch.waitMs, 0, kGroupBounds.waitMs);
    const consumer = typeof body.consumer === 'string' ? body.consumer.slice(0, 128) : (request.remoteAddress ?? 'unknown');
    const messages = await this.#groups.fetch(request.parameters[0]!, max, waitMs, consumer);
    return { status: 200, body: `{"messages":[${messages.join(',')}]}` };
  };

  settle(verb: SettleVerb): UploadHandler {
    return async (request): Promise<Answer> => {
      const body = objectOf(bodyOf(request));
      if (!Array.isArray(body.ids)) throw invalid('"ids" must be a list of message ids');
      const delayMs = verb === 'nak' && body.delay_ms !== undefined ? integer(body, 'delay_ms', 0, 0, kGroupBounds.ackWaitMs) : null;
      if (body.reason !== undefined && (typeof body.reason !== 'string' || body.reason.length > kMaxReason)) throw invalid(`"reason" must be a string of at most ${kMaxReason} characters`);
      const { results, done } = await this.#groups.settle(verb, request.parameters[0]!, body.ids, { delayMs, ...(typeof body.reason === 'string' ? { reason: body.reason } : {}) });
      const counted = { ack: 'acked', nak: 'naked', term: 'terminated', extend: 'extended' }[verb];
      return { status: 200, body: JSON.stringify({ [counted]: done, results }) };
    };
  }
}

function invalid(message: string): AggregatorError {
  return new AggregatorError('invalid_group', message);
}

function bodyOf(request: UploadRequest): unknown {
  const text = textOf(request.body);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new BadJsonError(`body is not JSON: ${(error as Error).message}`);
  }
}

function objectOf(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('the body must be a JSON object');
  return body as Record<string, unknown>;
}

function integer(body: Record<string, unknown>, key: string, fallback: number, min: number, max: number): number {
  const value = body[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw invalid(`"${key}" must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return value;
}
