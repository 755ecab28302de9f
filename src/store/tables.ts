/**
 * The shard file format. One file per shard; the `(topic_id, event_id)` unique index is what makes
 * a repeat a no-op, and `seq` (assigned at acceptance, globally increasing) is the row id and the
 * order every reader sees.
 *
 * Format 2 stores each topic's name once, in `topics`, and a small integer id in every event row
 * and both indexes: rows and index entries shrink by the topic's length, and inserts got ~15 %
 * faster on short topic names (more on long ones; see BENCHMARKS.md). Format 1 files (the topic as
 * text in every row) are migrated in place when a shard opens (`migrateFromFormat1`).
 */
export const kFormatVersion = 3;

/**
 * Format 3 adds the storage lifecycle: `expired` and `deleted` counts per topic and in total, and
 * `retired`, the identities whose rows are gone. A late resend of an expired event must still be a
 * duplicate, so its (topic_id, event_id) moves there (WITHOUT ROWID: the key is the whole row,
 * about 20 bytes plus the id) when the row is deleted, and an insert is refused when its identity is
 * retired. Format 2 files gain the columns and the table in place (`migrateFromFormat2`).
 */
export const createSchema = `
  CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value ANY
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE IF NOT EXISTS topics (
    topic        TEXT    PRIMARY KEY,
    id           INTEGER NOT NULL UNIQUE,
    received     INTEGER NOT NULL,
    unique_count INTEGER NOT NULL,
    duplicates   INTEGER NOT NULL,
    expired      INTEGER NOT NULL DEFAULT 0,
    deleted      INTEGER NOT NULL DEFAULT 0,
    stored_bytes INTEGER NOT NULL DEFAULT 0
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE IF NOT EXISTS events (
    seq         INTEGER PRIMARY KEY,
    topic_id    INTEGER NOT NULL,
    event_id    TEXT    NOT NULL,
    timestamp   TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    received_at INTEGER NOT NULL
  ) STRICT;
  CREATE UNIQUE INDEX IF NOT EXISTS events_identity ON events (topic_id, event_id);
  CREATE INDEX IF NOT EXISTS events_topic_seq ON events (topic_id, seq);

  CREATE TABLE IF NOT EXISTS retired (
    topic_id   INTEGER NOT NULL,
    event_id   TEXT    NOT NULL,
    retired_at INTEGER NOT NULL, -- seconds since the epoch, for --forget-after
    PRIMARY KEY (topic_id, event_id)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE IF NOT EXISTS counters (
    id                INTEGER PRIMARY KEY CHECK (id = 0),
    received          INTEGER NOT NULL,
    unique_processed  INTEGER NOT NULL,
    duplicate_dropped INTEGER NOT NULL,
    rejected          INTEGER NOT NULL,
    last_seq          INTEGER NOT NULL,
    expired           INTEGER NOT NULL DEFAULT 0,
    deleted           INTEGER NOT NULL DEFAULT 0
  ) STRICT;
  INSERT OR IGNORE INTO counters (id, received, unique_processed, duplicate_dropped, rejected, last_seq) VALUES (0, 0, 0, 0, 0, 0);
`;

/**
 * What a stored row counts toward `--retention-bytes`: the characters of its text columns (UTF-16
 * units on the JS side, which is what the writer adds up; SQLite's length() counts characters, the
 * same but for characters outside the BMP, which only the one-time migration uses).
 */
export function rowBytes(eventId: string, timestamp: string, source: string, payload: string): number {
  return eventId.length + timestamp.length + source.length + payload.length;
}

const rowBytesSql = 'length(event_id) + length(timestamp) + length(source) + length(payload)';

/** The format 2 tables, frozen: the starting point of the migrations below. */
const format2Tables = `
  CREATE TABLE topics (
    topic TEXT PRIMARY KEY, id INTEGER NOT NULL UNIQUE, received INTEGER NOT NULL, unique_count INTEGER NOT NULL, duplicates INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE events (
    seq INTEGER PRIMARY KEY, topic_id INTEGER NOT NULL, event_id TEXT NOT NULL, timestamp TEXT NOT NULL,
    source TEXT NOT NULL, payload TEXT NOT NULL, received_at INTEGER NOT NULL
  ) STRICT;
  CREATE UNIQUE INDEX events_identity ON events (topic_id, event_id);
  CREATE INDEX events_topic_seq ON events (topic_id, seq);
`;

/** Format 2 → 3, in one transaction: new columns default to 0, `retired` starts empty. */
export const migrateFromFormat2 = `
  ALTER TABLE topics ADD COLUMN expired INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE topics ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE topics ADD COLUMN stored_bytes INTEGER NOT NULL DEFAULT 0;
  UPDATE topics SET stored_bytes = (
    SELECT coalesce(sum(${rowBytesSql}), 0) FROM events WHERE events.topic_id = topics.id
  );
  ALTER TABLE counters ADD COLUMN expired INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE counters ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE retired (topic_id INTEGER NOT NULL, event_id TEXT NOT NULL, retired_at INTEGER NOT NULL, PRIMARY KEY (topic_id, event_id)) STRICT, WITHOUT ROWID;
  UPDATE meta SET value = 3 WHERE key = 'format_version';
`;

/**
 * Format 1 → 2 (then 3, by the next migration), in one transaction: topic ids by name order, every row copied in seq order, the
 * old tables dropped. Counters and meta are unchanged but for the version.
 */
export const migrateFromFormat1 = `
  DROP INDEX IF EXISTS events_identity;
  DROP INDEX IF EXISTS events_topic_seq;
  ALTER TABLE events RENAME TO events_v1;
  ALTER TABLE topics RENAME TO topics_v1;
  ${format2Tables}
  INSERT INTO topics (topic, id, received, unique_count, duplicates)
    SELECT topic, row_number() OVER (ORDER BY topic), received, unique_count, duplicates FROM (
      SELECT topic, received, unique_count, duplicates FROM topics_v1
      UNION ALL
      SELECT DISTINCT topic, 0, 0, 0 FROM events_v1 WHERE topic NOT IN (SELECT topic FROM topics_v1)
    );
  INSERT INTO events (seq, topic_id, event_id, timestamp, source, payload, received_at)
    SELECT e.seq, t.id, e.event_id, e.timestamp, e.source, e.payload, e.received_at
    FROM events_v1 e JOIN topics t ON t.topic = e.topic ORDER BY e.seq;
  DROP TABLE events_v1;
  DROP TABLE topics_v1;
  UPDATE meta SET value = 2 WHERE key = 'format_version';
`;

/** Columns in the order readers select them; `payload` is stored as JSON text and served verbatim. */
export const eventColumns = 'e.seq, t.topic, e.event_id, e.timestamp, e.source, e.payload, e.received_at';

export interface StoredEventRow {
  readonly seq: number;
  readonly topic: string;
  readonly event_id: string;
  readonly timestamp: string;
  readonly source: string;
  readonly payload: string;
  readonly received_at: number;
}

export interface ShardCounters {
  received: number;
  unique_processed: number;
  duplicate_dropped: number;
  rejected: number;
  last_seq: number;
  expired: number;
  deleted: number;
}

export interface TopicCounts {
  received: number;
  unique: number;
  duplicates: number;
}

/** What a topic lost to retention and deletion; stored = unique - expired - deleted. */
export interface TopicLosses {
  expired: number;
  deleted: number;
}

/**
 * The SQL of a payload field (`--index-field`, `payload.<path>=`): the same text in the index and
 * in the query, which is what lets SQLite use an expression index. Segments are checked against
 * `fieldSegmentPattern` before they get here, so quoting them is enough.
 */
export function payloadFieldSql(path: readonly string[], table = ''): string {
  return `json_extract(${table ? `${table}.` : ''}payload, ${payloadPathSql(path)})`;
}

/** A payload path as a JSON path literal: `'$."user"."id"'`. */
export function payloadPathSql(path: readonly string[]): string {
  return `'$.${path.map((segment) => `"${segment}"`).join('.')}'`;
}

export function fieldIndexName(path: readonly string[]): string {
  return `"events_field_${path.join('__')}"`;
}
