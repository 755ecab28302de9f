import type { HttpRequest } from 'uWebSockets.js';
import { encodeCursor } from '../events/cursor.js';
import { parseEventsQuery, parseTopicsQuery, type TopicsQuery } from '../events/query.js';
import type { GroupView, Health, Stats, StatsHistory, TopicsPage } from '../events/responses.js';
import { largestGroups } from '../delivery/group-service.js';
import type { Protocol, ProtocolCounts } from '../ingest/protocol-tally.js';
import type { RateSnapshot } from '../ingest/rate-history.js';
import { publicCounts, storedOf, type PageSource, type StatsSource, type TopicRow, type Watermark } from '../ingest/storage.js';
import { kTopTopics } from '../ingest/totals.js';
import { parseHistogramParams, parseSearchParams, parseTopParams, type SearchBounds } from '../search/request.js';
import type { Reply } from './reply.js';

/** Rows one shard examines for one /search page at most (its time bound is --search-timeout-ms). */
const kSearchPageRows = 20_000;

export interface ReadSources {
  readonly watermark: Watermark;
  readonly pages: PageSource;
  readonly stats: StatsSource;
  readonly shardCount: number;
  /** Why writes are refused right now, for /health. */
  readonly problems: () => readonly string[];
  readonly inFlight: () => number;
  /** `--stats-topics`: the most topics /stats lists. */
  readonly statsTopics: number;
  readonly protocols: () => Iterable<readonly [Protocol, Readonly<ProtocolCounts>]>;
  readonly metrics: () => string;
  /** The consumer groups, read from the shards when asked (the last known list if that fails). */
  readonly groups: () => Promise<readonly GroupView[]>;
  /** `--search-max-rows` and `--search-timeout-ms`. */
  readonly searchBounds: SearchBounds;
  /** The OpenAPI document, JSON text; read when asked, it is built after the route table. */
  readonly openApi: () => string;
  /** The counters' recent history, for /stats?history=1. */
  readonly rateHistory: () => RateSnapshot;
}

/** GET routes: each turns service state into a body; the pages of /events are built by a reader thread. */
export class ReadHandlers {
  readonly #sources: ReadSources;
  readonly #startedAt = performance.now();

  constructor(sources: ReadSources) {
    this.#sources = sources;
  }

  events(req: HttpRequest, reply: Reply): void {
    const version = this.#sources.watermark.cursorVersion;
    const query = parseEventsQuery(new URLSearchParams(req.getQuery() ?? ''), version);
    // Read the watermark now: everything at or below it is committed on every shard.
    const maxSeq = this.#sources.watermark.current;
    this.#sources.pages.page({ topic: query.topic, filter: query.filter, afterSeq: query.afterSeq, maxSeq, limit: query.limit }).then(
      (page) => {
        if (query.filter === null) {
          const next = page.lastSeq === null ? 'null' : JSON.stringify(encodeCursor(page.lastSeq, version));
          reply.send(200, `{"topic":${JSON.stringify(query.topic)},"count":${page.count},"next":${next},"events":${page.eventsJson}}`);
          return;
        }
        // A filtered page always has a cursor: past the rows it examined, even when none matched.
        const next = JSON.stringify(encodeCursor(Math.max(page.through, query.afterSeq), version));
        reply.send(200, `{"topic":${JSON.stringify(query.topic)},"count":${page.count},"next":${next},"partial":${page.partial},"events":${page.eventsJson}}`);
      },
      (error: unknown) => reply.error(error),
    );
  }

  /** GET /search: a page of matches read at the watermark, so paging is exact while publishing goes on. */
  search(req: HttpRequest, reply: Reply): void {
    const { watermark, pages, searchBounds } = this.#sources;
    const version = watermark.cursorVersion;
    const query = parseSearchParams(new URLSearchParams(req.getQuery() ?? ''), version, watermark.current, { ...searchBounds, maxRows: kSearchPageRows });
    pages.search(query).then(
      (page) => {
        const next = page.next === null ? 'null' : JSON.stringify(encodeCursor(page.next, version));
        reply.send(200, `{"count":${page.count},"next":${next},"partial":${page.partial},"events":${page.eventsJson}}`);
      },
      (error: unknown) => reply.error(error),
    );
  }

  histogram(req: HttpRequest, reply: Reply): void {
    this.#count(req, reply, parseHistogramParams, (query) => this.#sources.pages.histogram(query));
  }

  top(req: HttpRequest, reply: Reply): void {
    this.#count(req, reply, parseTopParams, (query) => this.#sources.pages.top(query));
  }

  /** A search count: parsed against the watermark now, counted by the reader threads. */
  #count<Query>(req: HttpRequest, reply: Reply, parse: (params: URLSearchParams, maxSeq: number, bounds: SearchBounds) => Query, count: (query: Query) => Promise<unknown>): void {
    const query = parse(new URLSearchParams(req.getQuery() ?? ''), this.#sources.watermark.current, this.#sources.searchBounds);
    count(query).then(
      (answer) => reply.send(200, JSON.stringify(answer)),
      (error: unknown) => reply.error(error),
    );
  }

  /** GET /topics: by name from the shard files (a reader thread), or the largest by volume (at most 1000). */
  topics(req: HttpRequest, reply: Reply): void {
    const query = parseTopicsQuery(new URLSearchParams(req.getQuery() ?? ''));
    const render = (rows: readonly TopicRow[], next: string | null): void => {
      const body: TopicsPage = {
        sort: query.sort,
        count: rows.length,
        next,
        topics: rows.map((row) => ({ topic: row.topic, ...publicCounts(row), stored: storedOf(row), expired: row.expired, deleted: row.deleted })),
      };
      reply.send(200, JSON.stringify(body));
    };
    if (query.sort === 'volume') {
      this.#whenFresh(() => this.#topicsByVolume(query, render));
      return;
    }
    this.#sources.pages.topics(query).then(
      (rows) => render(rows, rows.length === query.limit ? rows.at(-1)!.topic : null),
      (error: unknown) => reply.error(error),
    );
  }

  #topicsByVolume(query: TopicsQuery, render: (rows: readonly TopicRow[], next: string | null) => void): void {
    const { stats } = this.#sources;
    const totals = stats.topics();
    const losses = stats.losses();
    const ranked = stats.topTopics(kTopTopics).filter((topic) => query.prefix === null || topic.startsWith(query.prefix));
    const offset = Number(query.after ?? 0);
    const rows = ranked.slice(offset, offset + query.limit).map((topic) => {
      const counts = totals.get(topic)!;
      const lost = losses.get(topic);
      return { topic, received: counts.received, unique: counts.unique, duplicates: counts.duplicates, expired: lost?.expired ?? 0, deleted: lost?.deleted ?? 0 };
    });
    render(rows, offset + rows.length < ranked.length ? String(offset + rows.length) : null);
  }

  /** Runs `answer` once the per-topic counts are recent enough (cluster mode reads them from the replicas); at once when they are. */
  #whenFresh(answer: () => void): void {
    const ready = this.#sources.stats.fresh();
    if (ready === null) answer();
    else void ready.then(answer);
  }

  /** GET /stats; `?history=1` (or `true`) adds the counters' recent history (~900 points, so only when asked). */
  stats(req: HttpRequest, reply: Reply): void {
    const wantsHistory = /^(1|true)$/.test(new URLSearchParams(req.getQuery() ?? '').get('history') ?? '');
    this.#whenFresh(() => this.#stats(wantsHistory, reply));
  }

  #stats(wantsHistory: boolean, reply: Reply): void {
    const { stats, watermark } = this.#sources;
    const totals = stats.totals();
    const topicTotals = stats.topics();
    // Bounded: past --stats-topics topics, only the largest are listed (by name), and the answer says so.
    const limit = this.#sources.statsTopics;
    const topicCount = stats.topicCount();
    const truncated = topicCount > limit;
    const topics = (truncated ? stats.topTopics(limit) : [...topicTotals.keys()]).sort();
    const losses = stats.losses();
    // Every topic that lost events is a topic: only a cut list needs filtering.
    const lossy = truncated ? topics.filter((topic) => losses.has(topic)) : [...losses.keys()];
    const body: Stats = {
      ...publicCounts(totals),
      rejected: totals.rejected,
      stored: storedOf(totals),
      expired: totals.expired,
      deleted: totals.deleted,
      topics,
      uptime: this.#uptime(performance.now()),
      shards: this.#sources.shardCount,
      in_flight_requests: this.#sources.inFlight(),
      watermark_seq: watermark.current,
      cursor: encodeCursor(watermark.current, watermark.cursorVersion),
      topic_counts: Object.fromEntries(
        topics.map((topic) => [topic, publicCounts(topicTotals.get(topic)!)]),
      ),
      shard_status: stats.shardStatus(),
      groups: {},
      topic_storage: Object.fromEntries(
        lossy.map((topic) => {
          const lost = losses.get(topic)!;
          return [topic, { stored: storedOf({ unique: topicTotals.get(topic)?.unique ?? 0, ...lost }), expired: lost.expired, deleted: lost.deleted }];
        }),
      ),
      protocols: Object.fromEntries(
        [...this.#sources.protocols()].map(([protocol, counts]) => [
          protocol,
          { requests: counts.requests, ...publicCounts(counts), rejected: counts.rejected },
        ]),
      ) as Stats['protocols'],
    };
    if (truncated) Object.assign(body, { topics_truncated: true, topic_count: topicCount });
    // Taken in the same turn as the counters above, so the seam between the two is exact.
    if (wantsHistory) body.history = this.#history();
    this.#sources.groups().then(
      (views) => {
        body.groups = Object.fromEntries(largestGroups(views, limit).map(({ name, state }) => [name, { pending: state.pending, lag: state.lag, delivered: state.delivered, acked: state.acked, redelivered: state.redelivered, dead_lettered: state.dead_lettered }]));
        reply.send(200, JSON.stringify(body));
      },
      (error: unknown) => reply.error(error),
    );
  }

  #history(): StatsHistory {
    const history = this.#sources.rateHistory();
    return {
      interval_ms: history.intervalMs,
      capacity: history.capacity,
      end_uptime: this.#uptime(history.endAt),
      end_counts: publicCounts(history.endCounts),
      received: history.received,
      unique_processed: history.unique,
      duplicate_dropped: history.duplicates,
    };
  }

  /** Seconds since this process started serving at `at` (a `performance.now()`), to 10 ms. */
  #uptime(at: number): number {
    return Math.max(0, Math.round((at - this.#startedAt) / 10) / 100);
  }

  health(reply: Reply): void {
    const problems = this.#sources.problems();
    const cluster = this.#sources.stats.cluster();
    const body: Health = problems.length === 0 ? { status: 'ok' } : { status: 'unavailable', reason: problems.join('; ') };
    if (cluster) body.cluster = cluster;
    reply.send(problems.length === 0 ? 200 : 503, JSON.stringify(body));
  }

  metrics(reply: Reply): void {
    this.#whenFresh(() => reply.send(200, this.#sources.metrics(), { contentType: 'text/plain; version=0.0.4; charset=utf-8' }));
  }

  openApi(reply: Reply): void {
    reply.send(200, this.#sources.openApi(), { headers: { 'Cache-Control': 'public, max-age=300' } });
  }
}

