/**
 * Consumer group calls for the tests and benches: one JSON request per call, the reply as it came.
 * Re-exported by test/helper.ts.
 */
import type { Reply } from './http-client.js';

export interface GroupCallOptions {
  readonly token?: string;
}

/** `verb` under /groups/{name}: '' for the group itself (PUT, GET, DELETE), or fetch, ack, nak, term, extend (POST). */
export async function groupCall(url: string, name: string, verb: string, body?: unknown, options: GroupCallOptions & { method?: string } = {}): Promise<Reply> {
  const method = options.method ?? (verb === '' ? (body === undefined ? 'GET' : 'PUT') : 'POST');
  const response = await fetch(`${url}/groups/${encodeURIComponent(name)}${verb ? `/${verb}` : ''}`, {
    method,
    headers: { 'content-type': 'application/json', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as unknown) : null };
}

export interface Message {
  readonly id: string;
  readonly delivery_count: number;
  readonly event: { readonly topic: string; readonly event_id: string; readonly seq: number; readonly payload: any };
}

/** One fetch; throws on anything but 200. */
export async function fetchMessages(url: string, name: string, max = 100, waitMs = 0): Promise<Message[]> {
  const reply = await groupCall(url, name, 'fetch', { max, wait_ms: waitMs });
  if (reply.status !== 200) throw new Error(`fetch: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body.messages as Message[];
}

/** Acks `ids`; throws on anything but 200; the statuses by id. */
export async function ackMessages(url: string, name: string, ids: readonly string[]): Promise<Map<string, string>> {
  const reply = await groupCall(url, name, 'ack', { ids });
  if (reply.status !== 200) throw new Error(`ack: ${reply.status} ${JSON.stringify(reply.body)}`);
  return new Map((reply.body.results as { id: string; status: string }[]).map((result) => [result.id, result.status]));
}
