import type { HttpRequest } from 'uWebSockets.js';
import { encodeCursor } from '../events/cursor.js';
import { parseEventsQuery } from '../events/query.js';
import type { Stats } from '../events/responses.js';
import type { Protocol, ProtocolCounts } from '../ingest/protocol-tally.js';
import type { PageSource, StatsSource, Watermark } from '../ingest/storage.js';
import type { Reply } from './reply.js';

export interface ReadSources {
  readonly watermark: Watermark;
  readonly pages: PageSource;
  readonly stats: StatsSource;
  readonly shardCount: number;
  /** Why writes are refused right now, for /health. */
  readonly problems: () => readonly string[];
  readonly inFlight: () => number;
  readonly protocols: () => Iterable<readonly [Protocol, Readonly<ProtocolCounts>]>;
  readonly metrics: () => string;
  /** The OpenAPI document, JSON text; read when asked, it is built after the route table. */
  readonly openApi: () => string;
}

/** GET routes: each turns service state into a body; the pages of /events are built by a reader thread. */
export class ReadHandlers {
  readonly #sources: ReadSources;
  readonly #startedAt = performance.now();

  constructor(sources: ReadSources) {
    this.#sources = sources;
  }

  events(req: HttpRequest, reply: Reply): void {
    const query = parseEventsQuery(new URLSearchParams(req.getQuery() ?? ''));
    // Read the watermark now: everything at or below it is committed on every shard.
    const maxSeq = this.#sources.watermark.current;
    this.#sources.pages.page({ topic: query.topic, filter: query.filter, afterSeq: query.afterSeq, maxSeq, limit: query.limit }).then(
      (page) => {
        if (query.filter === null) {
          const next = page.lastSeq === null ? 'null' : JSON.stringify(encodeCursor(page.lastSeq));
          reply.send(200, `{"topic":${JSON.stringify(query.topic)},"count":${page.count},"next":${next},"events":${page.eventsJson}}`);
          return;
        }
        // A filtered page always has a cursor: past the rows it examined, even when none matched.
        const next = JSON.stringify(encodeCursor(Math.max(page.through, query.afterSeq)));
        reply.send(200, `{"topic":${JSON.stringify(query.topic)},"count":${page.count},"next":${next},"partial":${page.partial},"events":${page.eventsJson}}`);
      },
      (error: unknown) => reply.error(error),
    );
  }

  stats(reply: Reply): void {
    const { stats, watermark } = this.#sources;
    const totals = stats.totals();
    const topicTotals = stats.topics();
    const topics = [...topicTotals.keys()].sort();
    const body: Stats = {
      received: totals.received,
      unique_processed: totals.unique,
      duplicate_dropped: totals.duplicates,
      rejected: totals.rejected,
      stored: totals.unique - totals.expired - totals.deleted,
      expired: totals.expired,
      deleted: totals.deleted,
      topics,
      uptime: Math.round((performance.now() - this.#startedAt) / 10) / 100,
      shards: this.#sources.shardCount,
      in_flight_requests: this.#sources.inFlight(),
      watermark_seq: watermark.current,
      cursor: encodeCursor(watermark.current),
      topic_counts: Object.fromEntries(
        topics.map((topic) => {
          const counts = topicTotals.get(topic)!;
          return [topic, { received: counts.received, unique_processed: counts.unique, duplicate_dropped: counts.duplicates }];
        }),
      ),
      shard_status: stats.shardStatus(),
      topic_storage: Object.fromEntries(
        [...stats.losses()].map(([topic, lost]) => [topic, { stored: (topicTotals.get(topic)?.unique ?? 0) - lost.expired - lost.deleted, expired: lost.expired, deleted: lost.deleted }]),
      ),
      protocols: Object.fromEntries(
        [...this.#sources.protocols()].map(([protocol, counts]) => [
          protocol,
          { requests: counts.requests, received: counts.received, unique_processed: counts.unique, duplicate_dropped: counts.duplicates, rejected: counts.rejected },
        ]),
      ) as Stats['protocols'],
    };
    reply.send(200, JSON.stringify(body));
  }

  health(reply: Reply): void {
    const problems = this.#sources.problems();
    if (problems.length === 0) reply.send(200, '{"status":"ok"}');
    else reply.send(503, JSON.stringify({ status: 'unavailable', reason: problems.join('; ') }));
  }

  metrics(reply: Reply): void {
    reply.send(200, this.#sources.metrics(), { contentType: 'text/plain; version=0.0.4; charset=utf-8' });
  }

  openApi(reply: Reply): void {
    reply.send(200, this.#sources.openApi(), { headers: { 'Cache-Control': 'public, max-age=300' } });
  }
}
