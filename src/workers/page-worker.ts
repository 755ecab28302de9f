/**
 * Runs inside a reader thread: serves /events pages from read-only connections so that large
 * pages never run on the ingress thread, and takes cluster snapshots. Connections open on the
 * first task.
 */
import { workerData } from 'piscina';
import { EventPages, renderEvents } from '../store/event-pages.js';
import type { Page, PageQuery, TopicQuery, TopicRow } from '../ingest/storage.js';
import { shardPath } from '../store/data-dir.js';
import { snapshotShardFile, type SnapshotFile } from '../store/shard-snapshot.js';
import type { PageWorkerData } from './protocol.js';

let pages: EventPages | null = null;

function opened(): EventPages {
  if (!pages) {
    const data = workerData as PageWorkerData;
    pages = new EventPages(data.dataDir, data.shardCount);
  }
  return pages;
}

export function topics(query: TopicQuery): TopicRow[] {
  return opened().topics(query);
}

export function page(query: PageQuery): Page {
  const { rows, through, partial } = opened().page(query);
  return { eventsJson: renderEvents(rows), count: rows.length, lastSeq: rows.length > 0 ? rows[rows.length - 1]!.seq : null, through, partial };
}

/** A shard's snapshot (cluster mode), off the ingress thread: it reads the whole file. */
export function snapshot(task: { readonly shard: number; readonly to: string }): SnapshotFile {
  return snapshotShardFile(shardPath((workerData as PageWorkerData).dataDir, task.shard), task.to);
}

export function close(): void {
  pages?.close();
  pages = null;
}
