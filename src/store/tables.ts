/**
 * The shard file format. One file per shard; the `(topic, event_id)` unique index is what makes a
 * repeat a no-op, and `seq` (assigned by ingress, globally increasing) is the row id and the order
 * every reader sees.
 */
export const kFormatVersion = 1;

export const createSchema = `
  CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value ANY
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE IF NOT EXISTS events (
    seq         INTEGER PRIMARY KEY,
    topic       TEXT    NOT NULL,
    event_id    TEXT    NOT NULL,
    timestamp   TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    received_at INTEGER NOT NULL
  ) STRICT;
  CREATE UNIQUE INDEX IF NOT EXISTS events_identity ON events (topic, event_id);
  CREATE INDEX IF NOT EXISTS events_topic_seq ON events (topic, seq);

  CREATE TABLE IF NOT EXISTS topics (
    topic        TEXT    PRIMARY KEY,
    received     INTEGER NOT NULL,
    unique_count INTEGER NOT NULL,
    duplicates   INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE IF NOT EXISTS counters (
    id                INTEGER PRIMARY KEY CHECK (id = 0),
    received          INTEGER NOT NULL,
    unique_processed  INTEGER NOT NULL,
    duplicate_dropped INTEGER NOT NULL,
    rejected          INTEGER NOT NULL,
    last_seq          INTEGER NOT NULL
  ) STRICT;
  INSERT OR IGNORE INTO counters VALUES (0, 0, 0, 0, 0, 0);
`;

/** Columns in the order readers select them; `payload` is stored as JSON text and served verbatim. */
export const eventColumns = 'seq, topic, event_id, timestamp, source, payload, received_at';

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
}

export interface TopicCounts {
  received: number;
  unique: number;
  duplicates: number;
}
