/**
 * naive baseline, run as its own process: the obvious way to build the service. One node:http
 * server, no workers; one SQLite connection on the main thread (WAL, synchronous=NORMAL, the
 * service's schema); for each event a SELECT to check whether (topic, event_id) exists, then an
 * INSERT if not, each statement in its own autocommit transaction. Answers like the service
 * ({"accepted","unique","duplicates"}) and serves a GET /stats with the service's counter names.
 * Prints a "listening" JSON line.
 * Usage: node --import tsx bench/baselines/naive.ts --data-dir DIR [--host 127.0.0.1] [--port 0]
 */
import Database from 'better-sqlite3';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { plainEventSchema } from '../lib/plain-schema.js';

const { values } = parseArgs({
  options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '0' }, 'data-dir': { type: 'string' } },
});
if (!values['data-dir']) throw new Error('--data-dir is required');

const db = new Database(join(values['data-dir'], 'naive.db'));
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec(plainEventSchema);
const exists = db.prepare('SELECT 1 FROM events WHERE topic = ? AND event_id = ?').pluck();
const insert = db.prepare('INSERT INTO events (seq, topic, event_id, timestamp, source, payload, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)');

let seq = 0;
const stats = { received: 0, unique_processed: 0, duplicate_dropped: 0, in_flight_requests: 0 };

interface NaiveEvent {
  topic: string;
  event_id: string;
  timestamp: string;
  source: string;
  payload: unknown;
}

function isEvent(value: unknown): value is NaiveEvent {
  const event = value as Partial<NaiveEvent> | null;
  return (
    typeof event === 'object' && event !== null &&
    typeof event.topic === 'string' && typeof event.event_id === 'string' && typeof event.timestamp === 'string' &&
    typeof event.source === 'string' && typeof event.payload === 'object' && event.payload !== null
  );
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function publish(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      send(res, 400, { error: 'bad_json' });
      return;
    }
    const events = Array.isArray(parsed) ? parsed : [parsed];
    if (events.length === 0 || !events.every(isEvent)) {
      send(res, 422, { error: 'invalid_event' });
      return;
    }
    const receivedAt = Date.now();
    let unique = 0;
    for (const event of events) {
      if (exists.get(event.topic, event.event_id) !== undefined) continue;
      insert.run(++seq, event.topic, event.event_id, event.timestamp, event.source, JSON.stringify(event.payload), receivedAt);
      unique++;
    }
    stats.received += events.length;
    stats.unique_processed += unique;
    stats.duplicate_dropped += events.length - unique;
    send(res, 200, { accepted: events.length, unique, duplicates: events.length - unique });
  });
}

const server = createServer((req, res) => {
  if (req.method === 'POST' && req.url?.startsWith('/publish')) publish(req, res);
  else if (req.method === 'GET' && req.url === '/stats') send(res, 200, stats);
  else send(res, 404, { error: 'not_found' });
});

server.listen(Number(values.port), values.host, () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : Number(values.port);
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port })}\n`);
});

const stop = (): void => {
  server.close();
  server.closeAllConnections();
  db.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
