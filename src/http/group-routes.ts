/**
 * The route table's consumer group entries (routes.ts spreads them into the one table), kept apart
 * only for length: every route still is one entry of that table.
 */
import { jsonContent, refusals } from './openapi.js';
import type { Route } from './route.js';
import type { ConsumeSocket } from './consume-socket.js';
import type { GroupHandlers } from './group-handlers.js';
import type { Uploads } from './upload.js';

export interface GroupRouteHandlers {
  readonly uploads: Uploads;
  readonly groups: GroupHandlers;
  readonly consume: ConsumeSocket;
}

type QueryParameter = (name: string, schema: Record<string, unknown>, description?: string) => Record<string, unknown>;

/** The consumer group routes (docs/API.md "Consumer groups"): the consume token, or the admin's. */
export function groupRoutes({ uploads, groups, consume }: GroupRouteHandlers, queryParameter: QueryParameter): Route[] {
  const json = (schema: string) => ({ required: true, content: { 'application/json': { schema: { type: 'object', description: schema } } } });
  const groupRefusals = refusals('invalid_group', 'bad_json', 'group_not_found', 'unauthorized', 'forbidden', 'overloaded');
  const settle = (verb: 'ack' | 'nak' | 'term' | 'extend', summary: string, body: string): Route => ({
    method: 'POST',
    path: `/groups/:name/${verb}`,
    label: 'groups',
    scope: 'consume',
    summary,
    operation: { requestBody: json(body), responses: { 200: { description: 'committed: a status per id (acked | already_acked | unknown; other verbs ok | not_pending | unknown)', content: jsonContent('SettleResult') }, ...groupRefusals } },
    handle: uploads.route((request) => groups.settle(verb)(request), 1),
  });
  return [
    {
      method: 'GET',
      path: '/groups',
      label: 'groups',
      scope: 'consume',
      summary: 'Every consumer group with its state',
      operation: { responses: { 200: { description: 'every group', content: jsonContent('GroupList') }, ...refusals('unauthorized', 'forbidden') } },
      handle: (res, req, reply) => groups.list(res, req, reply),
    },
    {
      method: 'PUT',
      path: '/groups/:name',
      label: 'groups',
      scope: 'consume',
      summary: 'Create a consumer group, or change its limits',
      operation: {
        description: 'Body `{"topics", "start", "ack_wait_ms", "max_deliver", "max_pending", "backoff_ms"}`, only `topics` required. 201 created, 200 existed with the same topics and start; other topics or start: 409 `group_conflict`.',
        requestBody: json('the group'),
        responses: { 200: { description: 'existed: limits updated', content: jsonContent('Group') }, 201: { description: 'created', content: jsonContent('Group') }, ...refusals('invalid_group', 'bad_json', 'group_conflict', 'unauthorized', 'forbidden', 'overloaded') },
      },
      handle: uploads.route((request) => groups.put(request), 1),
    },
    {
      method: 'GET',
      path: '/groups/:name',
      label: 'groups',
      scope: 'consume',
      summary: "A consumer group's definition and state",
      operation: { responses: { 200: { description: 'the group', content: jsonContent('Group') }, ...refusals('invalid_group', 'group_not_found', 'unauthorized', 'forbidden') } },
      handle: (res, req, reply) => groups.get(res, req, reply),
    },
    {
      method: 'DELETE',
      path: '/groups/:name',
      label: 'groups',
      scope: 'consume',
      summary: 'Delete a consumer group and its state',
      operation: { responses: { 204: { description: 'deleted; its in-flight deliveries are void' }, ...refusals('invalid_group', 'group_not_found', 'unauthorized', 'forbidden', 'overloaded') } },
      handle: (res, req, reply) => groups.delete(res, req, reply),
    },
    {
      method: 'POST',
      path: '/groups/:name/fetch',
      label: 'groups',
      scope: 'consume',
      summary: 'Take up to max messages, long-polling up to wait_ms',
      operation: { requestBody: json('{"max": 100, "wait_ms": 5000}'), responses: { 200: { description: 'the messages granted (none when wait_ms passed first)', content: jsonContent('FetchResult') }, ...groupRefusals } },
      handle: uploads.route((request) => groups.fetch(request), 1),
    },
    settle('ack', 'Acknowledge messages: answered once the acks are committed', '{"ids": [...]}'),
    settle('nak', 'Redeliver messages after delay_ms (or the backoff)', '{"ids": [...], "delay_ms": 0}'),
    settle('term', 'Dead-letter messages now (topic dead.<group>)', '{"ids": [...], "reason": "..."}'),
    settle('extend', 'Restart the ack wait of messages still being worked on', '{"ids": [...]}'),
    {
      method: 'GET',
      path: '/groups/:name/consume',
      label: 'groups',
      scope: 'consume',
      queryToken: true,
      summary: 'WebSocket: messages pushed while the client has credit; ack, nak and term on the same socket',
      operation: {
        description:
          'Upgrade to a WebSocket. The client sends `{"credit": n}` to take up to n more messages, and `{"ack" | "nak" | "term" | "extend": [ids]}` ' +
          '(with `delay_ms` or `reason` beside); the server pushes `{"messages": [...]}` (as fetch answers) within the credit, and confirms each ' +
          'settle once committed with `{"ack": SettleResult}` (or nak, term, extend). Refusals come as `{"error": {...}}`; an unknown group closes with 4004.',
        parameters: [queryParameter('access_token', { type: 'string' }, 'the consume token, for clients that cannot set headers')],
        responses: { 101: { description: 'switched to the WebSocket' }, ...refusals('invalid_group', 'unauthorized', 'forbidden') },
      },
      handle: { upgrade: (res, req, context, reply) => consume.upgrade(res, req, context, reply), behavior: () => consume.behavior() },
    },
  ];
}
