/**
 * Runs inside a reader thread: serves /events pages from read-only connections so that large
 * pages never run on the ingress thread. Connections open on the first task.
 */
import { workerData } from 'piscina';
import { EventPages, renderEvents } from '../store/event-pages.js';
import type { Page, PageQuery } from '../ingest/storage.js';
import type { PageWorkerData } from './protocol.js';

let pages: EventPages | null = null;

export function page(query: PageQuery): Page {
  if (!pages) {
    const data = workerData as PageWorkerData;
    pages = new EventPages(data.dataDir, data.shardCount);
  }
  const { rows, through, partial } = pages.page(query);
  return { eventsJson: renderEvents(rows), count: rows.length, lastSeq: rows.length > 0 ? rows[rows.length - 1]!.seq : null, through, partial };
}

export function close(): void {
  pages?.close();
  pages = null;
}
