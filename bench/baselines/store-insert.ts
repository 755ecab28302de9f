/**
 * store-limit baseline, run as its own process: one thread inserting events into one WAL SQLite
 * file with the plain format-1 layout (bench/lib/plain-schema.ts) and the service's pragmas (synchronous=NORMAL), 1000 rows per transaction,
 * INSERT OR IGNORE on the (topic, event_id) unique index. Prints one JSON line when done.
 * Usage: node --import tsx bench/baselines/store-insert.ts --db FILE --events N [--duplicates 0.2] [--batch 1000]
 */
import Database from 'better-sqlite3';
import { parseArgs } from 'node:util';
import { plainEventSchema } from '../lib/plain-schema.js';
import { EventSource, type BenchEvent } from '../lib/events.js';

const { values } = parseArgs({
  options: {
    db: { type: 'string' },
    events: { type: 'string', default: '500000' },
    duplicates: { type: 'string', default: '0.2' },
    batch: { type: 'string', default: '1000' },
  },
});
if (!values.db) throw new Error('--db is required');
const total = Number(values.events);
const batchSize = Number(values.batch);

const db = new Database(values.db, { timeout: 0 });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('cache_size = -65536');
db.pragma('temp_store = MEMORY');
db.exec(plainEventSchema);
const insert = db.prepare('INSERT OR IGNORE INTO events (seq, topic, event_id, timestamp, source, payload, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
const commit = db
  .transaction((rows: readonly BenchEvent[], firstSeq: number, receivedAt: number): number => {
    let inserted = 0;
    for (let index = 0; index < rows.length; index++) {
      const row = rows[index]!;
      inserted += insert.run(firstSeq + index, row.topic, row.eventId, row.timestamp, row.source, row.payload, receivedAt).changes;
    }
    return inserted;
  })
  .immediate;

const source = new EventSource(Number(values.duplicates));
const wallStart = performance.now();
let insertMs = 0;
let inserted = 0;
let seq = 1;
for (let done = 0; done < total; done += batchSize) {
  const rows = Array.from({ length: Math.min(batchSize, total - done) }, () => source.next());
  const start = performance.now();
  inserted += commit(rows, seq, Date.now());
  insertMs += performance.now() - start;
  seq += rows.length;
}
const wallMs = performance.now() - wallStart;
db.close();

process.stdout.write(
  `${JSON.stringify({
    events: total,
    inserted,
    duplicates: total - inserted,
    insert_s: insertMs / 1000,
    wall_s: wallMs / 1000,
    events_per_s: total / (insertMs / 1000),
  })}\n`,
);
