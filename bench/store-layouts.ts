/**
 * One thread inserting into one WAL SQLite file, per row layout: what each layout costs per row,
 * for big group commits and for the tiny ones single events make. Not part of `npm run bench`
 * (no service involved); run it when changing the shard format:
 *   node --import tsx bench/store-layouts.ts [--events 300000] [--batch 1000]
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createSchema } from '../src/store/tables.js';
import { EventSource, type BenchEvent } from './lib/events.js';
import { plainEventSchema } from './lib/plain-schema.js';

interface Layout {
  readonly name: string;
  readonly schema: string;
  readonly topicIds: boolean;
  readonly pageSize?: number;
}

const layouts: readonly Layout[] = [
  { name: 'format 1: topic text in every row', schema: plainEventSchema, topicIds: false },
  { name: 'format 1 without the (topic, seq) index', schema: plainEventSchema.replace(/CREATE INDEX IF NOT EXISTS events_topic_seq[^;]*;/, ''), topicIds: false },
  { name: 'format 2: topic ids (the service)', schema: createSchema, topicIds: true },
  { name: 'format 2, 2 KiB pages', schema: createSchema, topicIds: true, pageSize: 2048 },
];

const { values } = parseArgs({ options: { events: { type: 'string', default: '300000' }, batch: { type: 'string', default: '1000' } } });
const total = Number(values.events);
const batchSize = Number(values.batch);

function measure(layout: Layout): number {
  const dir = mkdtempSync(join(tmpdir(), 'store-layouts-'));
  const db = new Database(join(dir, 'shard.db'), { timeout: 0 });
  try {
    if (layout.pageSize) db.pragma(`page_size = ${layout.pageSize}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('cache_size = -65536');
    db.exec(layout.schema);
    const ids = new Map<string, number>();
    const createTopic = layout.topicIds ? db.prepare('INSERT INTO topics (topic, id, received, unique_count, duplicates) VALUES (?, ?, 0, 0, 0)') : null;
    const idOf = (topic: string): number => {
      let id = ids.get(topic);
      if (id === undefined) {
        id = ids.size + 1;
        createTopic!.run(topic, id);
        ids.set(topic, id);
      }
      return id;
    };
    const insert = db.prepare(`INSERT OR IGNORE INTO events (seq, ${layout.topicIds ? 'topic_id' : 'topic'}, event_id, timestamp, source, payload, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)`);
    const commit = db.transaction((rows: readonly BenchEvent[], firstSeq: number, at: number) => {
      for (let index = 0; index < rows.length; index++) {
        const row = rows[index]!;
        insert.run(firstSeq + index, layout.topicIds ? idOf(row.topic) : row.topic, row.eventId, row.timestamp, row.source, row.payload, at);
      }
    }).immediate;
    const source = new EventSource(0.2);
    let milliseconds = 0;
    for (let done = 0; done < total; done += batchSize) {
      const rows = Array.from({ length: Math.min(batchSize, total - done) }, () => source.next());
      const started = performance.now();
      commit(rows, done + 1, Date.now());
      milliseconds += performance.now() - started;
    }
    return total / (milliseconds / 1000);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`store-layouts: ${total} events, ${batchSize} per transaction, 20% duplicates`);
for (const layout of layouts) console.log(`${layout.name.padEnd(44)} ${Math.round(measure(layout)).toLocaleString('en-US').padStart(9)} events/s`);
