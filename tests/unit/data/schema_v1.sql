-- Schema version 1 exactly as stockwatch 0.1.0 creates it (src/storage.cpp,
-- kSchemaV1). Frozen: tests/unit/schema_migration_test.cpp builds a
-- version-1 database from this text and opens it with the current code, so
-- every later schema step is tested against a real old database. Never edit
-- it; a new schema version is a new step in src/storage.cpp.
CREATE TABLE inventory(
  store      TEXT NOT NULL,
  item       TEXT NOT NULL,
  count      INTEGER NOT NULL CHECK (count >= 0),
  updated_at INTEGER NOT NULL,
  report_id  INTEGER NOT NULL,
  PRIMARY KEY (store, item)
) WITHOUT ROWID;

CREATE TABLE reports(
  id            INTEGER PRIMARY KEY,
  path          TEXT NOT NULL,
  size          INTEGER NOT NULL,
  sha256        TEXT NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('loaded', 'rejected', 'duplicate')),
  rows          INTEGER NOT NULL DEFAULT 0,
  changes       INTEGER NOT NULL DEFAULT 0,
  error         TEXT NOT NULL DEFAULT '',
  duplicate_of  INTEGER,  -- reports.id of the loaded original
  first_seq     INTEGER NOT NULL DEFAULT 0,
  last_seq      INTEGER NOT NULL DEFAULT 0,
  received_at   INTEGER NOT NULL,
  finished_at   INTEGER NOT NULL,
  archived_path TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX reports_loaded_sha256 ON reports(sha256) WHERE status = 'loaded';
CREATE INDEX reports_path ON reports(path, sha256);
CREATE INDEX reports_received ON reports(received_at);
CREATE INDEX reports_rejected ON reports(id) WHERE status = 'rejected';
CREATE INDEX reports_loaded_size ON reports(size) WHERE status = 'loaded';

CREATE TABLE changes(
  seq       INTEGER PRIMARY KEY,
  kind      TEXT NOT NULL CHECK (kind IN ('INSERT', 'MODIFY')),
  store     TEXT NOT NULL,
  item      TEXT NOT NULL,
  old_count INTEGER,
  new_count INTEGER NOT NULL,
  report_id INTEGER NOT NULL,  -- reports.id; written in the same transaction
  at        INTEGER NOT NULL
);
CREATE INDEX changes_alerting ON changes(seq) WHERE new_count = 0 OR old_count = 0;

-- The change stream: every write that changes a count appends a record, in
-- the same transaction; a write that changes nothing appends nothing.
CREATE TRIGGER inventory_insert AFTER INSERT ON inventory BEGIN
  INSERT INTO changes(kind, store, item, old_count, new_count, report_id, at)
  VALUES ('INSERT', new.store, new.item, NULL, new.count, new.report_id, new.updated_at);
END;
CREATE TRIGGER inventory_update AFTER UPDATE OF count ON inventory
WHEN old.count <> new.count BEGIN
  INSERT INTO changes(kind, store, item, old_count, new_count, report_id, at)
  VALUES ('MODIFY', new.store, new.item, old.count, new.count, new.report_id, new.updated_at);
END;

CREATE TABLE cursors(
  name     TEXT PRIMARY KEY,
  position INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO cursors(name, position) VALUES ('changes', 0), ('rejected', 0);

CREATE TABLE outbox(
  id              INTEGER PRIMARY KEY,
  message_id      TEXT NOT NULL UNIQUE,
  report_id       INTEGER NOT NULL,
  event           TEXT NOT NULL,
  sender          TEXT NOT NULL,
  recipient       TEXT NOT NULL,
  subject         TEXT NOT NULL,
  data            TEXT NOT NULL,
  state           TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'dead')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  created_at      INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  sent_at         INTEGER,
  last_error      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE state = 'queued';
CREATE INDEX outbox_open ON outbox(state) WHERE state <> 'sent';
