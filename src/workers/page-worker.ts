/**
 * Runs inside a reader thread: serves /events pages from read-only connections so that large
 * pages never run on the ingress thread. Connections open on the first task.
 */
import { workerData } from 'piscina';
import { EventPages, renderEvents } from '../store/event-pages.js';
import type { PageResult, PageTask, PageWorkerData } from './protocol.js';

let reader: EventPages | null = null;

export function page(task: PageTask): PageResult {
  if (!reader) {
    const data = workerData as PageWorkerData;
    reader = new EventPages(data.dataDir, data.shardCount);
  }
  const rows = reader.page(task);
  return { eventsJson: renderEvents(rows), count: rows.length, lastSeq: rows.length > 0 ? rows[rows.length - 1]!.seq : null };
}

export function close(): void {
  reader?.close();
  reader = null;
}
