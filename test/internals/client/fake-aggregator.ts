/**
 * A stand-in for the aggregator's POST /publish in unit tests of the client: it inflates gzip
 * bodies, records every request, dedups like the real one (a Set of topic/event_id) and answers
 * with per-event verdicts, unless `respond` decides otherwise for a request.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly url: string;
  /** Bytes on the wire. */
  readonly wireBytes: number;
  readonly events: readonly { readonly topic: string; readonly event_id: string }[];
}

export interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

/** null: answer as the aggregator would (200 with verdicts); a Reply: send that; a Promise: answer when it settles. */
export type Respond = (request: Received, index: number) => Reply | null | Promise<Reply | null>;

export interface FakeAggregator {
  readonly url: string;
  readonly server: Server;
  readonly requests: Received[];
  /** Events currently received and not yet answered. */
  readonly unanswered: () => number;
  close(): Promise<void>;
}

export async function fakeAggregator(respond: Respond = () => null): Promise<FakeAggregator> {
  const requests: Received[] = [];
  const stored = new Set<string>();
  let unanswered = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const wire = Buffer.concat(chunks);
      const text = (request.headers['content-encoding'] === 'gzip' ? gunzipSync(wire) : wire).toString('utf8');
      const events = text === '' ? [] : (JSON.parse(text) as Received['events']);
      const received: Received = { headers: request.headers, url: request.url ?? '', wireBytes: wire.length, events };
      const index = requests.push(received) - 1;
      unanswered += events.length;
      void Promise.resolve(respond(received, index)).then((reply) => {
        unanswered -= events.length;
        const chosen = reply ?? verdicts(events, stored);
        response.writeHead(chosen.status, { 'content-type': 'application/json', ...chosen.headers }).end(JSON.stringify(chosen.body));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    requests,
    unanswered: () => unanswered,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function verdicts(events: Received['events'], stored: Set<string>): Reply {
  const results = events.map(({ topic, event_id }) => {
    const key = `${topic}\u0000${event_id}`;
    const status = stored.has(key) ? 'duplicate' : 'stored';
    stored.add(key);
    return { topic, event_id, status };
  });
  const unique = results.filter((result) => result.status === 'stored').length;
  return { status: 200, body: { accepted: events.length, unique, duplicates: events.length - unique, results } };
}

export function testEvent(id: string, topic = 't'): { topic: string; event_id: string; timestamp: string; source: string; payload: Record<string, unknown> } {
  return { topic, event_id: id, timestamp: '2025-10-22T10:30:00Z', source: 'unit', payload: { n: id } };
}
