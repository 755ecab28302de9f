/**
 * The baselines' SQLite layout: one table keyed by seq with the topic as text in every row, a
 * unique (topic, event_id) index and a (topic, seq) index. It is the service's own first shard
 * format (format 1), kept here as it was, so the store-limit and naive baselines measure "one
 * thread, one straightforward SQLite table" whatever the service's own format becomes.
 */
export const plainEventSchema = `
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
