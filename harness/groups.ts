/**
 * Consumer group calls for the tests and benches: one JSON request per call, the reply as it came.
 * Re-exported by test/helper.ts.
 */
import { Agent, request as httpRequest } from 'node:http';
import type { Reply } from './http-client.js';

export interface GroupCallOptions {
  readonly token?: string;
}

// Keep-alive connections on node:http: lighter than fetch per call, which matters when the bench's
// consumers share two cores with the server they measure.
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** `verb` under /groups/{name}: '' for the group itself (PUT, GET, DELETE), or fetch, ack, nak, term, extend (POST). */
export function groupCall(url: string, name: string, verb: string, body?: unknown, options: GroupCallOptions & { method?: string } = {}): Promise<Reply> {
  const method = options.method ?? (verb === '' ? (body === undefined ? 'GET' : 'PUT') : 'POST');
  const payload = body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) };
  if (payload !== null) headers['content-length'] = String(Buffer.byteLength(payload));
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${url}/groups/${encodeURIComponent(name)}${verb ? `/${verb}` : ''}`, { method, headers, agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: response.statusCode ?? 0, headers: new Headers(response.headers as Record<string, string>), body: text ? (JSON.parse(text) as unknown) : null });
        } catch (error) {
          reject(error as Error);
        }
      });
    });
    request.on('error', reject);
    request.end(payload ?? undefined);
  });
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
