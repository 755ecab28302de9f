import type { EventFilter } from '../events/query.js';
import type { PageQuery, TopicQuery, TopicRow } from '../ingest/storage.js';
import { matchesQuery } from '../search/match.js';
import { mergePageParts, mergeTopicParts, type EventPage, type PagePart, type VolumePart } from './read-parts.js';
import type { ShardReaders } from './shard-readers.js';
import { eventColumns, fieldIndexName, payloadFieldSql, type StoredEventRow } from './tables.js';


/** Rows one shard examines for one filtered page at most: a filter no index serves is a bounded scan, continued by the cursor. */
export const kScanRows = 10_000;

/**
 * Read-only connections to every shard, merged by seq. WAL lets these read while the shard
 * writers commit; each shard query is one consistent snapshot, and the watermark makes the
 * union consistent too (everything at or below it is committed on every shard).
 *
 * A filtered page reads, in each shard, the matches as far as `kScanRows` rows reach after the
 * cursor (its frontier), and keeps those up to the lowest frontier (read-parts.ts): everything
 * matching below it is in the page or comes after the cursor it returns, so paging never skips or
 * repeats a match. Filters on `--index-field` fields use their index and need no frontier.
 */
export class EventPages {
  readonly #readers: ShardReaders;
  readonly #indexed: ReadonlySet<string>;
  readonly #scanRows: number;

  /** `scanRows`: the bound of a filtered scan per shard (smaller in tests, where it must be reached). */
  constructor(readers: ShardReaders, scanRows = kScanRows) {
    this.#readers = readers;
    this.#scanRows = scanRows;
    // The field indexes the writers made (`--index-field`): every shard has the same ones.
    const names = readers.count === 0 ? [] : (readers.prepare(0, "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'events_field_%'").pluck().all() as string[]);
    this.#indexed = new Set(names.map((name) => `"${name}"`));
  }

  /** The first `limit` matching events after the cursor, across all shards, in seq order. */
  page(query: PageQuery): EventPage {
    return mergePageParts(this.#shards().map((shard) => this.pagePart(shard, query)), query);
  }

  /**
   * One shard's share of a page (read-parts.ts): a filter no index serves, or a `search`, reads up
   * to the shard's own frontier, its `scanRows`-th row after the cursor; any other page reads up to
   * the watermark, which the SQL's LIMIT keeps cheap.
   */
  pagePart(shard: number, query: PageQuery): PagePart {
    const { filter } = query;
    const search = query.search ?? null;
    const index = filter?.fields.map((field) => fieldIndexName(field.path)).find((name) => this.#indexed.has(name));
    const bounded = search !== null || (filter !== null && index === undefined);
    let reach = query.maxSeq;
    if (bounded) {
      const sql = `SELECT e.seq FROM ${source(query)} AND e.seq > ? AND e.seq <= ? ORDER BY e.seq LIMIT 1 OFFSET ${this.#scanRows - 1}`;
      reach = (this.#readers.prepare(shard, sql).pluck().get(...topicArgument(query), query.afterSeq, query.maxSeq) as number | undefined) ?? query.maxSeq;
    }
    const { clause, args } = filterSql(filter);
    // With `q`, every row up to the frontier (at most scanRows) goes to the matcher, and the part is cut after it.
    const sql = `SELECT ${eventColumns} FROM ${source(query, index)} AND e.seq > ? AND e.seq <= ?${clause} ORDER BY e.seq${search === null ? ' LIMIT ?' : ''}`;
    const rows = this.#readers.prepare(shard, sql).all(...topicArgument(query), query.afterSeq, reach, ...args, ...(search === null ? [query.limit] : [])) as StoredEventRow[];
    if (search === null) return { rows, reach };
    const matching = rows.filter((row) => matchesQuery(search, { topic: row.topic, event_id: row.event_id, source: row.source, payload: JSON.parse(row.payload) }));
    return { rows: matching.slice(0, query.limit), reach };
  }

  /**
   * A page of topics by name: each shard's `topics` rows after the cursor (its primary key is the
   * name), merged by name with a topic's counts summed over the shards that have it.
   */
  topics(query: TopicQuery): TopicRow[] {
    return mergeTopicParts(this.#shards().map((shard) => this.topicsPart(shard, query)), query.limit);
  }

  /** One shard's first `limit` topics after the cursor, by name. */
  topicsPart(shard: number, query: TopicQuery): TopicRow[] {
    const after = query.after ?? '';
    // Topic names are ASCII below DEL, so `prefix || DEL` bounds the range of names with the prefix.
    const [low, high] = query.prefix === null ? [after, '\x7f'] : [after > query.prefix ? after : query.prefix, `${query.prefix}\x7f`];
    const sql = 'SELECT topic, received, unique_count AS "unique", duplicates, expired, deleted FROM topics WHERE topic > ? AND topic >= ? AND topic < ? ORDER BY topic LIMIT ?';
    return this.#readers.prepare(shard, sql).all(after, low, high, query.limit) as TopicRow[];
  }

  /**
   * One shard's `limit` largest topics by `received` and its topic count; or, with `names`, those
   * topics' rows (cluster mode ranks the topics of shards held elsewhere from these).
   */
  volumePart(shard: number, limit: number, names: readonly string[] | null): VolumePart {
    const columns = 'SELECT topic, received, unique_count AS "unique", duplicates, expired, deleted FROM topics';
    if (names !== null) {
      const rows = this.#readers.prepare(shard, `${columns} WHERE topic IN (SELECT value FROM json_each(?))`).all(JSON.stringify(names)) as TopicRow[];
      return { rows, count: rows.length };
    }
    const rows = this.#readers.prepare(shard, `${columns} ORDER BY received DESC, topic LIMIT ?`).all(limit) as TopicRow[];
    const count = rows.length < limit ? rows.length : (this.#readers.prepare(shard, 'SELECT count(*) FROM topics').pluck().get() as number);
    return { rows, count };
  }

  #shards(): number[] {
    return Array.from({ length: this.#readers.count }, (_, shard) => shard);
  }
}

/**
 * The rows a page reads from, up to an open `AND`: one topic's through `topics`, or all of them.
 * With an indexed field filter, that index (field, topic_id, seq) is named: left to itself the
 * planner walks the topic's (topic_id, seq) index instead, which is a scan of the whole topic.
 */
function source(query: PageQuery, index?: string): string {
  const events = index === undefined ? 'events e' : `events e INDEXED BY ${index}`;
  return query.topic === null ? `${events} JOIN topics t ON t.id = e.topic_id WHERE 1` : `topics t JOIN ${events} ON e.topic_id = t.id WHERE t.topic = ?`;
}

function topicArgument(query: PageQuery): string[] {
  return query.topic === null ? [] : [query.topic];
}

function filterSql(filter: EventFilter | null): { clause: string; args: (string | number)[] } {
  if (!filter) return { clause: '', args: [] };
  let clause = '';
  const args: (string | number)[] = [];
  // julianday reads RFC 3339 with its offset, so the comparison is in UTC whatever zone an event
  // was written in; it wants an upper-case T and Z, and no leap second (:60 is only ever seconds).
  const eventTime = "julianday(replace(upper(e.timestamp), ':60', ':59'))";
  if (filter.since !== null) {
    clause += ` AND ${eventTime} >= julianday(?)`;
    args.push(filter.since);
  }
  if (filter.until !== null) {
    clause += ` AND ${eventTime} < julianday(?)`;
    args.push(filter.until);
  }
  if (filter.source !== null) {
    clause += ' AND e.source = ?';
    args.push(filter.source);
  }
  for (const field of filter.fields) {
    // A JSON number comes out of json_extract as a number, a string as text: `user_id=7` matches either.
    clause += ` AND ${payloadFieldSql(field.path, 'e')} IN (?, ?)`;
    args.push(field.text, field.number ?? field.text);
  }
  return { clause, args };
}
