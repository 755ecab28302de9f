/**
 * The consumer group routes under /groups (docs/API.md "Consumer groups"): JSON in, JSON out, the
 * work in `GroupService`. Bodies are checked here; a bad one is 400 `invalid_group` (or `bad_json`).
 */
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { parseJson, textOf } from '../events/decode.js';
import { integerField, kGroupBounds, objectBody, parseSettle, type SettleVerb } from '../groups/model.js';
import type { GroupService } from '../delivery/group-service.js';
import type { Reply } from './reply.js';
import type { Answer, UploadHandler, UploadRequest } from './upload.js';

const kDefaultFetch = { max: 100, waitMs: 5000 };

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
    const body = request.body.length === 0 ? {} : objectBody(bodyOf(request));
    const max = integerField(body, 'max', kDefaultFetch.max, 1, kGroupBounds.fetchMax);
    const waitMs = integerField(body, 'wait_ms', kDefaultFetch.waitMs, 0, kGroupBounds.waitMs);
    const consumer = typeof body.consumer === 'string' ? body.consumer.slice(0, 128) : (request.remoteAddress ?? 'unknown');
    const messages = await this.#groups.fetch(request.parameters[0]!, max, waitMs, consumer);
    return { status: 200, body: `{"messages":[${messages.join(',')}]}` };
  };

  settle(verb: SettleVerb): UploadHandler {
    return async (request): Promise<Answer> => {
      const settled = await this.#groups.settle(verb, request.parameters[0]!, parseSettle(verb, objectBody(bodyOf(request))));
      return { status: 200, body: JSON.stringify(settled) };
    };
  }
}

function bodyOf(request: UploadRequest): unknown {
  return parseJson(textOf(request.body), 'body');
}
