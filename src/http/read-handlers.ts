import type { HttpRequest } from 'uWebSockets.js';
import type { ServiceMetrics } from '../metrics/service-metrics.js';
import type { PagePool } from '../workers/page-pool.js';
import type { ShardPool } from '../workers/shard-pool.js';
import { encodeCursor, parseEventsQuery } from '../events/query.js';
import type { Reply } from './reply.js';
import type { Sequencer } from '../ingest/sequencer.js';

export interface ReadSources {
  readonly shards: ShardPool;
  readonly readers: PagePool;
  readonly sequencer: Sequencer;
  readonly metrics: ServiceMetrics;
  readonly inFlight: () => number;
  readonly openApi: string;
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
    const maxSeq = this.#sources.sequencer.watermark;
    this.#sources.readers.page({ topic: query.topic, afterSeq: query.afterSeq, maxSeq, limit: query.limit }).then(
      (page) => {
        const next = page.lastSeq === null ? 'null' : JSON.stringify(encodeCursor(page.lastSeq));
        reply.send(200, `{"topic":${JSON.stringify(query.topic)},"count":${page.count},"next":${next},"events":${page.eventsJson}}`);
      },
      (error: unknown) => reply.error(error),
    );
  }

  stats(reply: Reply): void {
    const { shards, sequencer } = this.#sources;
    const totals = shards.totals;
    const topics = [...totals.topics.keys()].sort();
    const body = {
      received: totals.received,
      unique_processed: totals.unique,
      duplicate_dropped: totals.duplicates,
      rejected: totals.rejected,
      topics,
      uptime: Math.round((performance.now() - this.#startedAt) / 10) / 100,
      shards: shards.shardCount,
      in_flight_requests: this.#sources.inFlight(),
      watermark_seq: sequencer.watermark,
      cursor: encodeCursor(sequencer.watermark),
      topic_counts: Object.fromEntries(
        topics.map((topic) => {
          const counts = totals.topics.get(topic)!;
          return [topic, { received: counts.received, unique_processed: counts.unique, duplicate_dropped: counts.duplicates }];
        }),
      ),
      shard_status: shards.shardStats(),
    };
    reply.send(200, JSON.stringify(body));
  }

  health(reply: Reply): void {
    const problems = this.#sources.shards.problems();
    if (problems.length === 0) reply.send(200, '{"status":"ok"}');
    else reply.send(503, JSON.stringify({ status: 'unavailable', reason: problems.join('; ') }));
  }

  metrics(reply: Reply): void {
    reply.send(200, this.#sources.metrics.render(), { contentType: 'text/plain; version=0.0.4; charset=utf-8' });
  }

  openApi(reply: Reply): void {
    reply.send(200, this.#sources.openApi, { headers: { 'Cache-Control': 'public, max-age=300' } });
  }
}
