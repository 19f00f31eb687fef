// The SQLite backend: all of its SQL is in this file.
#include "store/sqlite/sqlite_storage.hpp"

#include "base/ascii.hpp"
#include "os/file_ops.hpp"
#include "os/pid_lock.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <span>
#include <stdexcept>
#include <thread>
#include <utility>

#include "store/item_names.hpp"
#include "store/sorted_inventory.hpp"
#include "store/sqlite/sqlite.hpp"

namespace stockwatch {

using sqlite::ResetGuard;
using sqlite::Statement;

namespace {

// Version 1 of the schema; each later version is a step of kSchemaSteps below.
// docs/architecture.md describes every table of the current version.
constexpr const char* kSchemaV1 = R"SQL(
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
)SQL";

// Version 2: the change records are written by ReportLoad, in the same
// transaction as the inventory rows, after it has read the current counts
// of each batch: rows whose count is new or different get a record, the
// others write nothing. The triggers of version 1 did the same per row, at
// several times the cost of a batch.
constexpr const char* kMigrationV2 = R"SQL(
DROP TRIGGER IF EXISTS inventory_insert;
DROP TRIGGER IF EXISTS inventory_update;
)SQL";

// Version 3: a smaller change record, and an alert query that never reads
// the change log itself. `at` is gone (the report's received_at and
// finished_at in the ledger tell when), and `kind` is computed from
// old_count instead of stored; together they were a quarter of every
// record's bytes. The alerting index now holds every column the checker
// reads, so a report with thousands of zeros among a million changes is
// checked from the index alone. Each DROP COLUMN rewrites every record;
// the records keep their pages, so the file does not shrink (VACUUM would
// compact it), but new records are smaller.
constexpr const char* kMigrationV3 = R"SQL(
DROP INDEX IF EXISTS changes_alerting;
ALTER TABLE changes DROP COLUMN kind;
ALTER TABLE changes DROP COLUMN at;
ALTER TABLE changes ADD COLUMN kind TEXT
  GENERATED ALWAYS AS (CASE WHEN old_count IS NULL THEN 'INSERT' ELSE 'MODIFY' END) VIRTUAL;
CREATE INDEX changes_alerting ON changes(seq, store, item, old_count, new_count)
  WHERE new_count = 0 OR old_count = 0;
)SQL";

// Version 4: ids and claims that do not assume one process.
// - reports.id becomes AUTOINCREMENT: begin_report() inserts the ledger row
//   (status 'loading', never committed so) at the start of its transaction
//   and takes the id SQLite assigns, instead of reading MAX(id) + 1; an id is
//   never given twice, even after the newest row is gone. The table is
//   copied (SQLite cannot add AUTOINCREMENT in place); its rows keep their ids.
// - outbox.claimed_by / claim_expires_at: the lease of the process that is
//   delivering a message (claim_due); NULL when nobody holds it. Messages
//   queued by 0.1 start unclaimed, so the first mailer to claim them sends
//   them, once.
constexpr const char* kMigrationV4 = R"SQL(
CREATE TABLE reports_v4(
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  path          TEXT NOT NULL,
  size          INTEGER NOT NULL,
  sha256        TEXT NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('loaded', 'rejected', 'duplicate', 'loading')),
  rows          INTEGER NOT NULL DEFAULT 0,
  changes       INTEGER NOT NULL DEFAULT 0,
  error         TEXT NOT NULL DEFAULT '',
  duplicate_of  INTEGER,
  first_seq     INTEGER NOT NULL DEFAULT 0,
  last_seq      INTEGER NOT NULL DEFAULT 0,
  received_at   INTEGER NOT NULL,
  finished_at   INTEGER NOT NULL,
  archived_path TEXT NOT NULL DEFAULT ''
);
INSERT INTO reports_v4(id, path, size, sha256, status, rows, changes, error, duplicate_of,
                       first_seq, last_seq, received_at, finished_at, archived_path)
  SELECT id, path, size, sha256, status, rows, changes, error, duplicate_of,
         first_seq, last_seq, received_at, finished_at, archived_path FROM reports;
DROP TABLE reports;
ALTER TABLE reports_v4 RENAME TO reports;
CREATE UNIQUE INDEX reports_loaded_sha256 ON reports(sha256) WHERE status = 'loaded';
CREATE INDEX reports_path ON reports(path, sha256);
CREATE INDEX reports_received ON reports(received_at);
CREATE INDEX reports_rejected ON reports(id) WHERE status = 'rejected';
CREATE INDEX reports_loaded_size ON reports(size) WHERE status = 'loaded';

ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claim_expires_at INTEGER;
)SQL";

// Version 5: structured alert events and an outbox of event data.
// - The loader writes the alert events of a report's changes to `events`,
//   in the report's transaction: one row per change record that raises an
//   event (stock_event() decides, once), under that record's seq, with the
//   event's name, what the checker needs (store, item, old and new count)
//   and the minimum level it was judged by (NULL: none yet). The change
//   records themselves stay as they were (no column added: most raise
//   nothing), and the alerting index on them gives way to this table.
//   Records written before get the events the rule of version 3 gave them
//   (a count reaching or leaving 0), so a change not yet checked alerts
//   once, as it would have.
// - A rejected report keeps its problems as codes with arguments
//   (reports.problems, JSON), rendered to text where they are shown.
// - An outbox message holds its channel, address (recipient), language and
//   event data (payload, JSON), and is rendered when it is sent. A message
//   queued before holds its rendered email in `data` (payload empty) and is
//   sent as it is, once, as before.
constexpr const char* kMigrationV5 = R"SQL(
CREATE TABLE events(
  seq       INTEGER PRIMARY KEY,  -- changes.seq of the change that raised it
  event     TEXT NOT NULL,
  store     TEXT NOT NULL,
  item      TEXT NOT NULL,
  old_count INTEGER,
  new_count INTEGER NOT NULL,
  minimum   INTEGER,
  report_id INTEGER NOT NULL
);
INSERT INTO events(seq, event, store, item, old_count, new_count, report_id)
  SELECT seq, CASE WHEN new_count = 0 THEN 'out_of_stock' ELSE 'back_in_stock' END,
         store, item, old_count, new_count, report_id
  FROM changes WHERE new_count = 0 OR old_count = 0;
DROP INDEX IF EXISTS changes_alerting;
ALTER TABLE reports ADD COLUMN problems TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'email';
ALTER TABLE outbox ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
ALTER TABLE outbox ADD COLUMN payload TEXT NOT NULL DEFAULT '';
)SQL";

// Version 6: the web console.
// - accounts, sessions, setup_tokens, sign_in_failures: the console's
//   accounts and what signing in needs (store/account_store.hpp); secrets
//   only as digests.
// - report_stores: which stores each loaded report had rows for, written
//   by the loader in the report's transaction, so the console's overview
//   finds each store's last report without reading the inventory. Reports
//   loaded before are filled in from the inventory and the change log.
// - inventory_out_of_stock: the rows at 0, so the out-of-stock count and
//   list of every store read only those rows.
constexpr const char* kMigrationV6 = R"SQL(
CREATE TABLE accounts(
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  name          TEXT NOT NULL UNIQUE,
  role          TEXT NOT NULL CHECK (role IN ('owner', 'manager')),
  stores        TEXT NOT NULL DEFAULT '',   -- a manager's stores, one per line
  password_hash TEXT NOT NULL,
  language      TEXT NOT NULL DEFAULT '',
  created_at    INTEGER NOT NULL
);
CREATE TABLE sessions(
  id_digest    TEXT PRIMARY KEY,
  account_id   INTEGER NOT NULL,
  csrf         TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_account ON sessions(account_id);
CREATE TABLE setup_tokens(
  digest     TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE sign_in_failures(
  id      INTEGER PRIMARY KEY,
  name    TEXT NOT NULL,
  address TEXT NOT NULL,
  at      INTEGER NOT NULL
);
CREATE TABLE report_stores(
  store     TEXT NOT NULL,
  report_id INTEGER NOT NULL,
  PRIMARY KEY (store, report_id)
) WITHOUT ROWID;
INSERT OR IGNORE INTO report_stores(store, report_id)
  SELECT DISTINCT store, report_id FROM inventory;
INSERT OR IGNORE INTO report_stores(store, report_id)
  SELECT DISTINCT store, report_id FROM changes;
CREATE INDEX inventory_out_of_stock ON inventory(store, item) WHERE count = 0;
)SQL";

// Version 7: a report costs fewer pages of the database file. Each page a
// transaction changes is written whole (32 KiB) to the log and again to the
// file, and a small report changed 11 of them on a ledger of thousands.
// - reports.id is a plain row id again: SQLite gives the next one (the
//   highest + 1) inside the loading transaction, as before, without
//   AUTOINCREMENT's row in sqlite_sequence, which was one more page per
//   report. AUTOINCREMENT kept an id from being given twice after the
//   newest row was deleted; now no row of the ledger can be deleted (the
//   trigger reports_kept refuses it), so the highest id never goes away.
//   The table is copied (SQLite cannot drop AUTOINCREMENT in place); its
//   rows keep their ids, and the ids go on from the highest.
// - The row of a load in progress ('loading': never committed so) is left
//   out of the indexes on path and received_at. Inserted with an empty
//   path and received_at 0, it went to their first pages and moved to their
//   last ones when the load finished: two more pages per report.
constexpr const char* kMigrationV7 = R"SQL(
CREATE TABLE reports_v7(
  id            INTEGER PRIMARY KEY,
  path          TEXT NOT NULL,
  size          INTEGER NOT NULL,
  sha256        TEXT NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('loaded', 'rejected', 'duplicate', 'loading')),
  rows          INTEGER NOT NULL DEFAULT 0,
  changes       INTEGER NOT NULL DEFAULT 0,
  error         TEXT NOT NULL DEFAULT '',
  duplicate_of  INTEGER,
  first_seq     INTEGER NOT NULL DEFAULT 0,
  last_seq      INTEGER NOT NULL DEFAULT 0,
  received_at   INTEGER NOT NULL,
  finished_at   INTEGER NOT NULL,
  archived_path TEXT NOT NULL DEFAULT '',
  problems      TEXT NOT NULL DEFAULT ''
);
-- Every column, in order: a column added to reports by an earlier step and
-- not declared above makes this fail instead of being lost.
INSERT INTO reports_v7 SELECT * FROM reports;
DROP TABLE reports;
ALTER TABLE reports_v7 RENAME TO reports;
CREATE UNIQUE INDEX reports_loaded_sha256 ON reports(sha256) WHERE status = 'loaded';
CREATE INDEX reports_path ON reports(path, sha256) WHERE status <> 'loading';
CREATE INDEX reports_received ON reports(received_at) WHERE status <> 'loading';
CREATE INDEX reports_rejected ON reports(id) WHERE status = 'rejected';
CREATE INDEX reports_loaded_size ON reports(size) WHERE status = 'loaded';
CREATE TRIGGER reports_kept BEFORE DELETE ON reports BEGIN
  SELECT RAISE(ABORT, 'the ledger keeps every report: rows of reports are never deleted');
END;
)SQL";

// Version 8: minimum levels and mutes.
// - levels: the lines of the levels file in force (store or item '*' for
//   any); a new levels file replaces them all, in its load's transaction.
//   levels_state.report_id is that file's ledger id (0: none yet), read
//   before each report to know whether the loader's copy is current.
// - mutes: `stockwatch mute`; item '' mutes every item of the store;
//   until_at (Unix ms) or until_change (1: until the count changes after
//   created_at).
constexpr const char* kMigrationV8 = R"SQL(
CREATE TABLE levels(
  store   TEXT NOT NULL,
  item    TEXT NOT NULL,
  minimum INTEGER NOT NULL CHECK (minimum >= 0),
  PRIMARY KEY (store, item)
) WITHOUT ROWID;
CREATE TABLE levels_state(
  id        INTEGER PRIMARY KEY CHECK (id = 1),
  report_id INTEGER NOT NULL
);
INSERT INTO levels_state(id, report_id) VALUES (1, 0);
CREATE TABLE mutes(
  store        TEXT NOT NULL,
  item         TEXT NOT NULL,
  until_at     INTEGER,
  until_change INTEGER NOT NULL DEFAULT 0,
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (store, item)
) WITHOUT ROWID;
)SQL";

// Version 9: use rates, days of cover and predicted run-out dates
// (pipeline/usage.hpp).
// - reports.report_day / date_source: the day a report's counts were true
//   (days since 1970-01-01) and where it came from ('column', 'name',
//   'received'). Reports loaded before take the day they were received.
// - usage_points: the history of each store and item, one point per report
//   day that changed its count, written by the forecast stage after a load
//   (never by the loader).
// - usage: each store and item's running figures (observe()): the last
//   report day and count taken in, units used and the days they were used
//   over.
// - usage_stores: each store's last two report days (the next report is
//   expected one interval after the last).
// - cursors 'usage' (the last report taken in, by change feed position) and
//   'usage_alerts_from' (reports up to this position were loaded before
//   this step: taken in, but raise no alert about the past).
constexpr const char* kMigrationV9 = R"SQL(
ALTER TABLE reports ADD COLUMN report_day INTEGER;
ALTER TABLE reports ADD COLUMN date_source TEXT NOT NULL DEFAULT '';
UPDATE reports SET report_day = received_at / 86400000, date_source = 'received'
  WHERE status = 'loaded';
CREATE TABLE usage_points(
  store     TEXT NOT NULL,
  item      TEXT NOT NULL,
  day       INTEGER NOT NULL,
  count     INTEGER NOT NULL,
  report_id INTEGER NOT NULL,
  PRIMARY KEY (store, item, day)
) WITHOUT ROWID;
CREATE TABLE usage(
  store      TEXT NOT NULL,
  item       TEXT NOT NULL,
  first_day  INTEGER NOT NULL,
  last_day   INTEGER NOT NULL,
  last_count INTEGER NOT NULL,
  used       INTEGER NOT NULL DEFAULT 0,
  used_days  INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (store, item)
) WITHOUT ROWID;
CREATE INDEX usage_item ON usage(item);
CREATE TABLE usage_stores(
  store    TEXT PRIMARY KEY,
  last_day INTEGER NOT NULL,
  prev_day INTEGER
) WITHOUT ROWID;
INSERT INTO cursors(name, position) VALUES ('usage', 0);
INSERT INTO cursors(name, position)
  SELECT 'usage_alerts_from', COALESCE(MAX(last_seq), 0) FROM reports WHERE status = 'loaded';
)SQL";

// Version 10: reports by email: each mail the mailbox took, and each of its
// attachments with the ledger entry it became (src/mailbox/).
constexpr const char* kMigrationV10 = R"SQL(
CREATE TABLE mail_receipts(
  mail_key    TEXT PRIMARY KEY,     -- the Message-ID, or 'sha256:<hex>' of the mail
  message_id  TEXT NOT NULL,
  sender      TEXT NOT NULL,
  state       TEXT NOT NULL CHECK (state IN ('loading', 'answered')),
  received_at INTEGER NOT NULL,
  answered_at INTEGER,
  reply_id    TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE TABLE mail_attachments(
  mail_key  TEXT NOT NULL,
  position  INTEGER NOT NULL,
  name      TEXT NOT NULL,
  path      TEXT NOT NULL,          -- '' when it was not placed in the inbox
  sha256    TEXT NOT NULL,
  report_id INTEGER,
  PRIMARY KEY (mail_key, position)
) WITHOUT ROWID;
CREATE INDEX mail_attachments_report ON mail_attachments(report_id) WHERE report_id IS NOT NULL;
CREATE INDEX events_report ON events(report_id, seq);
)SQL";

// Version 11: a shared inbox. Nodes polling one inbox folder claim each file
// in inbox_claims before they read it (Storage::claim_inbox_file): one row
// per file being handled, gone once it left the inbox.
constexpr const char* kMigrationV11 = R"SQL(
CREATE TABLE inbox_claims(
  name       TEXT PRIMARY KEY,   -- path in the inbox, size, modification time
  claimed_by TEXT NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
)SQL";

// Version 12: the forecast take-in writes less. The index of the running
// figures by item is gone: every store's figures of one item (transfers)
// are found through the primary key, one probe per store with report days
// (usage_stores); the index cost a random-order write per item and about
// 40 bytes per store and item.
constexpr const char* kMigrationV12 = R"SQL(
DROP INDEX IF EXISTS usage_item;
)SQL";

// Version 13: how each report arrived ("folder", "s3", "browser", "email";
// '' for the reports before this step and for `stockwatch ingest`).
constexpr const char* kMigrationV13 = R"SQL(
ALTER TABLE reports ADD COLUMN arrived_by TEXT NOT NULL DEFAULT '';
)SQL";

// Version 14: a first sighting's use figures stay in its inventory row
// (as PostgreSQL's version 10). A large first load is nearly all new
// items, and their figures say nothing yet (first day = last day, no
// use): a row of `usage` and a point of `usage_points` for each wrote
// every row of the load twice more. So the batch that inserts an
// inventory row notes the report and the count (first_report,
// first_count), and while the item has no row in `usage` its figures and
// its one history point are read from there (the report's day from the
// ledger). The take-in of the item's next change writes both out first.
// Rows loaded before this step have their figures in `usage` already
// (both columns stay NULL). reports.first_sightings: how many of the
// report's change records are first sightings (0 for the reports before
// this step; one with none has no record whose figures stay behind), so
// that the take-in knows without looking at each row, and skips a first
// load's records altogether.
constexpr const char* kMigrationV14 = R"SQL(
ALTER TABLE inventory ADD COLUMN first_report INTEGER;
ALTER TABLE inventory ADD COLUMN first_count INTEGER;
ALTER TABLE reports ADD COLUMN first_sightings INTEGER NOT NULL DEFAULT 0;
)SQL";

// The schema's history, oldest first: the entry with version N takes a
// database at version N - 1 to N, in one transaction that also sets
// PRAGMA user_version = N. A new, empty file (version 0) goes through every
// step. To change the schema, append one entry here (and describe the
// change in docs/architecture.md); never edit a step that has shipped,
// because databases out there were made by it.
constexpr SchemaStep kSchemaSteps[] = {
    {1, "create the tables", kSchemaV1},
    {2, "the loader writes the change records; drop the triggers that did", kMigrationV2},
    {3, "smaller change records; the alerting index covers the checker's reads", kMigrationV3},
    {4, "ledger ids by AUTOINCREMENT; outbox claims (claimed_by, claim_expires_at)", kMigrationV4},
    {5, "the loader writes alert events; outbox messages hold event data, rendered when sent",
     kMigrationV5},
    {6, "the web console: accounts, sessions, the stores of each report, an out-of-stock index",
     kMigrationV6},
    {7, "fewer pages per report: plain ledger ids (rows never deleted), no index entries for a "
        "load in progress",
     kMigrationV7},
    {8, "minimum levels (levels, levels_state) and mutes", kMigrationV8},
    {9, "use rates: report days, item history, running figures per item, store report days",
     kMigrationV9},
    {10, "reports by email: the mails taken and their attachments", kMigrationV10},
    {11, "a shared inbox: each file claimed by one node", kMigrationV11},
    {12, "use rates: no index of the running figures by item", kMigrationV12},
    {13, "how each report arrived (reports.arrived_by)", kMigrationV13},
    {14, "use rates: a first sighting's figures stay in its inventory row", kMigrationV14},
};

constexpr bool consecutive(std::span<const SchemaStep> steps) {
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].version != static_cast<int>(i) + 1) return false;
  }
  return !steps.empty();
}
static_assert(consecutive(kSchemaSteps), "schema steps must be numbered 1, 2, 3, ...");

void check_steps(std::span<const SchemaStep> steps) {
  if (!consecutive(steps)) {
    throw std::invalid_argument("schema steps must be numbered 1, 2, 3, ...");
  }
}

// The columns read_report() expects, in its order.
#define SW_REPORT_COLUMNS                                                               \
  "id, path, size, sha256, status, rows, changes, error, duplicate_of, received_at, " \
  "finished_at, archived_path, problems, report_day, date_source, arrived_by"

ReportRecord read_report(const Statement& s) {
  ReportRecord r;
  r.id = s.i64(0);
  r.path = s.text(1);
  r.size = s.i64(2);
  r.sha256 = s.text(3);
  r.status = report_status_from(s.text(4));
  r.rows = s.i64(5);
  r.changes = s.i64(6);
  r.error = s.text(7);
  r.duplicate_of = s.opt_i64(8);
  r.received_at = from_unix_ms(s.i64(9));
  r.finished_at = from_unix_ms(s.i64(10));
  r.archived_path = s.text(11);
  r.problems = s.text(12);
  r.report_day = s.opt_i64(13);
  r.date_source = s.text(14);
  r.arrived_by = s.text(15);
  return r;
}

// The columns read_outbox() expects, in its order.
#define SW_OUTBOX_COLUMNS                                                                  \
  "id, message_id, report_id, event, sender, recipient, subject, data, state, attempts, " \
  "created_at, next_attempt_at, sent_at, last_error, claimed_by, claim_expires_at, channel, " \
  "language, payload"
// The same without the message body (for listings): `data` reads as ''.
#define SW_OUTBOX_LIST_COLUMNS                                                              \
  "id, message_id, report_id, event, sender, recipient, subject, '', state, attempts, " \
  "created_at, next_attempt_at, sent_at, last_error, claimed_by, claim_expires_at, channel, " \
  "language, payload"

OutboxMessage read_outbox(const Statement& s) {
  OutboxMessage m;
  m.id = s.i64(0);
  m.message_id = s.text(1);
  m.report_id = s.i64(2);
  m.event = s.text(3);
  m.sender = s.text(4);
  m.recipient = s.text(5);
  m.subject = s.text(6);
  m.data = s.text(7);
  m.state = outbox_state_from(s.text(8));
  m.attempts = static_cast<int>(s.i64(9));
  m.created_at = from_unix_ms(s.i64(10));
  m.next_attempt_at = from_unix_ms(s.i64(11));
  if (!s.is_null(12)) m.sent_at = from_unix_ms(s.i64(12));
  m.last_error = s.text(13);
  m.claimed_by = s.text(14);
  if (!s.is_null(15)) m.claim_expires_at = from_unix_ms(s.i64(15));
  m.channel = s.text(16);
  m.language = s.text(17);
  m.payload = s.text(18);
  return m;
}

// Steps `s` to the end, reading each row with `read`.
template <typename T, typename Read>
Result<std::vector<T>> collect(Statement& s, Read read) {
  std::vector<T> out;
  while (true) {
    auto r = s.step();
    if (!r) return r.error();
    if (!*r) break;
    out.push_back(read(s));
  }
  return out;
}

// The first column of the first row of `sql`, as an integer or text.
Result<std::int64_t> query_int(sqlite3* db, const char* sql) {
  Statement s(db, sql);
  auto r = s.step();
  if (!r) return r.error();
  return *r ? s.i64(0) : 0;
}

Result<std::string> query_text(sqlite3* db, const char* sql) {
  Statement s(db, sql);
  auto r = s.step();
  if (!r) return r.error();
  return *r ? s.text(0) : std::string();
}

}  // namespace

namespace {
// Rows of inventory in key order from a key on: the batch's current counts
// are read by merging its sorted keys with this scan, so a report in key
// order costs one seek per batch instead of one per row.
constexpr const char* kInventoryFrom =
    "SELECT store, item, count FROM inventory WHERE (store, item) >= (?1, ?2) "
    "ORDER BY store, item";
}  // namespace

struct SqliteStorage::Impl {
  const Clock& clock;
  std::unique_ptr<sqlite3, sqlite::DbCloser> db;
  // With auto_checkpoint off: the frames in the write-ahead log after this
  // connection's last commit (SQLite's WAL hook), and the page size.
  std::int64_t log_frames = -1;  // -1: not tracked
  // Of those frames, the ones the last complete checkpoint copied while the
  // log has not started over since. The log starts over only when a writer
  // finds it wholly copied and no reader in it; while the mail connection
  // writes beside this one that is rare, and the log keeps frames that are
  // copied already. Counting those as new made every maintain() copy and
  // sync again, once per report.
  std::int64_t checkpointed_frames = 0;
  // The pages this connection wrote to the log by then (SQLite's
  // SQLITE_DBSTATUS_CACHE_WRITE). A log that started over and grew past
  // checkpointed_frames before this connection's next commit looks to the
  // hook as if it had only grown; what this connection wrote since still
  // counts in full.
  std::int64_t written_at_checkpoint = 0;
  std::int64_t pages_written() const {
    int now = 0, high = 0;
    sqlite3_db_status(db.get(), SQLITE_DBSTATUS_CACHE_WRITE, &now, &high, 0);
    return now;
  }
  std::int64_t page_size = 0;

  // Statements are prepared lazily and kept for the connection's life.
  std::optional<Statement> begin_immediate, commit, rollback;
  std::optional<Statement> seen_clear, seen_insert;
  std::optional<Statement> inventory_from;
  // Batch writes, by chunk size: index i writes 2^i rows, up to
  // SqliteStorage::kBatchRows; each prepared when a load first needs it
  // (write_chunks()).
  static constexpr int kChunkKinds = 9;
  std::optional<Statement> inv_insert[kChunkKinds], inv_upsert[kChunkKinds],
      change_insert[kChunkKinds], change_insert_new[kChunkKinds];
  std::optional<Statement> event_insert;
  std::optional<Statement> report_begin, report_finish, report_insert, find_loaded, find_latest, loaded_size, report_by_id,
      recent_reports, mark_archived, count_of;
  std::optional<Statement> cursor_get, cursor_set, first_pending_change, last_change_of_report,
      alerting_changes, next_rejected;
  std::optional<Statement> outbox_insert, outbox_due, outbox_next_due, outbox_sent,
      outbox_retry, outbox_dead, outbox_requeue, outbox_list_all, outbox_list_open,
      outbox_counts, outbox_open_counts, reports_since, outbox_claim, outbox_ids_in;
  std::optional<Statement> report_store_insert, report_stores_of;
  // The distinct item names (store/item_names.hpp), read on first use:
  // StorageOptions::item_names, shared with the connections given the same.
  std::shared_ptr<ItemNames> item_names;
  // The inventory sorted in memory (store/sorted_inventory.hpp):
  // StorageOptions::sorted_inventory; empty: sorted in the database.
  std::shared_ptr<SortedInventory> sorted_inventory;
  std::optional<Statement> levels_version_get, mutes_all;
  // Use rates: once per report, so prepared with the connection.
  std::optional<Statement> usage_next, usage_steps[5], usage_running_out, usage_any_use,
      usage_any_use_of_changes, usage_all_first, latest_day, history_insert,
      usage_stores_of_report;
  // One item's figures (usage_of): the console asks for each row of a page.
  // One item in every store (usage_of_item): the checker asks for each
  // item that runs out, to suggest a transfer. One item's history in one
  // store (item_history): the console's item page.
  std::optional<Statement> usage_one, usage_item, history_of;
  void prepare_usage_statements();
  // What the take-in learnt of the report's change records.
  struct UsageChanges {
    bool all_first = false;     // every one a first sighting
    bool every_row = false;     // one for each row of the report
    std::int64_t records = 0;   // how many (0: unknown)
  };
  [[nodiscard]] Status apply_usage_steps(const UsageReport& r, UsageChanges* seen = nullptr);
  [[nodiscard]] Status take_in_steps(const UsageReport& r, std::int64_t horizon_days, int limit,
                                     const Storage::UsageJudge& judge);

  explicit Impl(const Clock& c) : clock(c) {}

  // A statement prepare_all() prepared.
  Statement& stmt(std::optional<Statement>& slot) {
    assert(slot && "statement not prepared: the connection was opened with older schema steps");
    return *slot;
  }

  // Prepares every fixed statement, once, when the connection opens: a bad
  // statement throws StorageError there and never inside an operation. (The
  // load's batch statements are prepared when a load first needs each
  // chunk size, and a failure there is the load's error: write_chunks().)
  void prepare_all() {
    const std::pair<std::optional<Statement>*, const char*> fixed[] = {
        {&begin_immediate, "BEGIN IMMEDIATE"},
        {&commit, "COMMIT"},
        {&rollback, "ROLLBACK"},
        {&savepoint, "SAVEPOINT stockwatch_write"},
        {&release, "RELEASE stockwatch_write"},
        {&rollback_to, "ROLLBACK TO stockwatch_write"},
        {&cursor_get, "SELECT position FROM cursors WHERE name = ?"},
        {&cursor_set, "UPDATE cursors SET position = max(position, ?) WHERE name = ?"},
        {&find_loaded, "SELECT " SW_REPORT_COLUMNS " FROM reports "
                 "WHERE sha256 = ? AND status = 'loaded'"},
        {&find_latest, "SELECT " SW_REPORT_COLUMNS " FROM reports "
                 "WHERE path = ? AND sha256 = ? AND status <> 'loading' ORDER BY id DESC LIMIT 1"},
        {&loaded_size, "SELECT 1 FROM reports WHERE size = ? AND status = 'loaded' LIMIT 1"},
        // The ledger row of a load, inserted when it begins: its id is the
        // report's, assigned by SQLite inside the transaction (the highest
        // + 1; no row is ever deleted). Until it is finished it is in no
        // index but the table's own.
        {&report_begin, "INSERT INTO reports(path, size, sha256, status, received_at, finished_at) "
                        "VALUES ('', -1, '', 'loading', 0, 0)"},
        {&report_finish, "UPDATE reports SET path = ?2, size = ?3, sha256 = ?4, status = 'loaded', "
                         "rows = ?5, changes = ?6, error = '', duplicate_of = NULL, received_at = ?7, "
                         "finished_at = ?8, archived_path = ?9, first_seq = ?10, last_seq = ?11, "
                         "report_day = ?12, date_source = ?13, arrived_by = ?14, first_sightings = ?15 "
                         "WHERE id = ?1 AND status = 'loading'"},
        {&seen_clear, "DELETE FROM temp.seen_rows"},
        {&report_insert, "INSERT INTO reports(path, size, sha256, status, rows, changes, error, "
                         "duplicate_of, received_at, finished_at, archived_path, problems, arrived_by) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"},
        {&mark_archived, "UPDATE reports SET archived_path = ? WHERE id = ?"},
        {&report_by_id, "SELECT " SW_REPORT_COLUMNS " FROM reports "
                 "WHERE id = ?"},
        {&recent_reports, "SELECT " SW_REPORT_COLUMNS " FROM reports "
                 "ORDER BY id DESC LIMIT ?"},
        {&inventory_from, kInventoryFrom},
        {&seen_insert, "INSERT INTO temp.seen_rows(h, line) VALUES (?, 0) "
                 "ON CONFLICT(h) DO NOTHING"},
        {&count_of, "SELECT count FROM inventory WHERE store = ? AND item = ?"},
        {&alerting_changes, "SELECT seq, store, item, old_count, new_count, event, minimum "
                 "FROM events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?"},
        {&event_insert, "INSERT OR FAIL INTO events(seq, event, store, item, old_count, new_count, "
                 "report_id, minimum) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"},
        {&first_pending_change, "SELECT report_id FROM changes WHERE seq > ? ORDER BY seq LIMIT 1"},
        {&last_change_of_report, "SELECT last_seq FROM reports WHERE id = ?"},
        {&next_rejected, "SELECT " SW_REPORT_COLUMNS " FROM reports "
                 "WHERE id > ? AND status = 'rejected' ORDER BY id LIMIT 1"},
        {&outbox_insert, "INSERT INTO outbox(message_id, report_id, event, sender, recipient, "
                 "subject, data, state, attempts, created_at, next_attempt_at, channel, "
                 "language, payload) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?, ?, ?) "
                 "ON CONFLICT(message_id) DO NOTHING"},
        {&outbox_due, "SELECT " SW_OUTBOX_COLUMNS " "
                 "FROM outbox WHERE state = 'queued' AND next_attempt_at <= ? "
                 "ORDER BY next_attempt_at, id LIMIT ?"},
        // A message held by a lease is claimable when the lease ends.
        {&outbox_next_due, "SELECT MIN(max(next_attempt_at, COALESCE(claim_expires_at, 0))) "
                           "FROM outbox WHERE state = 'queued'"},
        // One statement under the write lock: two connections never claim
        // one message. ?1 claimant, ?2 lease end, ?3 now, ?4 limit.
        {&outbox_claim, "UPDATE outbox SET claimed_by = ?1, claim_expires_at = ?2 "
                        "WHERE id IN (SELECT id FROM outbox WHERE state = 'queued' "
                        "AND next_attempt_at <= ?3 "
                        "AND (claim_expires_at IS NULL OR claim_expires_at <= ?3 "
                        "OR claimed_by = ?1) "
                        "ORDER BY next_attempt_at, id LIMIT ?4) "
                        "RETURNING " SW_OUTBOX_COLUMNS},
        {&outbox_ids_in, "SELECT id FROM outbox WHERE state = ? ORDER BY id LIMIT ?"},
        {&outbox_sent, "UPDATE outbox SET state = 'sent', attempts = attempts + 1, sent_at = ?, "
                       "last_error = '', claimed_by = NULL, claim_expires_at = NULL WHERE id = ?"},
        {&outbox_retry, "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, "
                        "claimed_by = NULL, claim_expires_at = NULL WHERE id = ?"},
        {&outbox_dead, "UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = ?, "
                       "claimed_by = NULL, claim_expires_at = NULL WHERE id = ?"},
        {&outbox_requeue, "UPDATE outbox SET state = 'queued', attempts = 0, next_attempt_at = ?, "
                          "created_at = ?, claimed_by = NULL, claim_expires_at = NULL "
                          "WHERE id = ? AND state = 'dead'"},
        {&outbox_list_all, "SELECT " SW_OUTBOX_COLUMNS " FROM outbox ORDER BY id DESC LIMIT ?"},
        {&outbox_list_open, "SELECT " SW_OUTBOX_COLUMNS " FROM outbox WHERE state != 'sent' "
                 "ORDER BY id DESC LIMIT ?"},
        {&outbox_open_counts, "SELECT state, COUNT(*) FROM outbox WHERE state <> 'sent' GROUP BY state"},
        {&reports_since, "SELECT COUNT(*) FROM reports WHERE received_at >= ? AND status <> 'loading'"},
        {&outbox_counts, "SELECT state, COUNT(*) FROM outbox GROUP BY state"},
        {&report_store_insert, "INSERT OR IGNORE INTO report_stores(store, report_id) VALUES (?, ?)"},
        // Few reports per store: the whole (small) table, not the inventory.
        {&report_stores_of, "SELECT store FROM report_stores WHERE report_id = ? ORDER BY store"},
        {&levels_version_get, "SELECT report_id FROM levels_state WHERE id = 1"},
        // The checker reads the mutes once per run, after every report.
        {&mutes_all, "SELECT store, item, until_at, until_change, created_at FROM mutes "
                     "ORDER BY store, item"},
    };
    for (const auto& [slot, sql] : fixed) slot->emplace(db.get(), sql);
    prepare_usage_statements();
  }

  Status exec(const char* sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db.get(), sql, nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      return sqlite::error_from(nullptr, rc, msg);
    }
    return {};
  }

  // Inside a group (Storage::begin_group) each transaction is a savepoint
  // of the group's one transaction.
  bool grouped = false;
  std::optional<Statement> savepoint, release, rollback_to;

  Status begin() {
    if (!grouped) return stmt(begin_immediate).run();
    // A failure that ended the group's transaction: a savepoint now would
    // start a transaction of its own, outside the group.
    if (sqlite3_get_autocommit(db.get())) {
      return Error(ErrorCode::kIo, "an earlier failure ended this group of writes");
    }
    return stmt(savepoint).run();
  }
  Status do_commit() { return stmt(grouped ? release : commit).run(); }
  void do_rollback() {
    if (sqlite3_get_autocommit(db.get())) return;
    if (grouped) {
      (void)stmt(rollback_to).run();
      (void)stmt(release).run();
      return;
    }
    // Before prepare_all() (a failed schema step), without a statement.
    if (rollback) (void)rollback->run();
    else (void)exec("ROLLBACK");
  }

  Result<std::int64_t> cursor(const char* name) {
    auto& s = stmt(cursor_get);
    ResetGuard g(s);
    s.bind(1, name);
    auto r = s.step();
    if (!r) return r.error();
    if (!*r) return Error(ErrorCode::kCorrupt, std::string("cursor missing: ") + name);
    return s.i64(0);
  }

  // Inside a write transaction: queues `messages`, skipping a Message-ID
  // already in the outbox.
  Status queue(const std::vector<OutboxMessage>& messages) {
    auto& ins = stmt(outbox_insert);
    for (const auto& m : messages) {
      ins.bind(1, m.message_id)
          .bind(2, m.report_id)
          .bind(3, m.event)
          .bind(4, m.sender)
          .bind(5, m.recipient)
          .bind(6, m.subject)
          .bind(7, m.data)
          .bind(8, to_unix_ms(m.created_at))
          .bind(9, to_unix_ms(m.next_attempt_at))
          .bind(10, m.channel)
          .bind(11, m.language)
          .bind(12, m.payload);
      if (auto st = ins.run(); !st.ok()) return st;
    }
    return {};
  }

  Status set_cursor(const char* name, std::int64_t pos) {
    // max(): a cursor only moves forward.
    return stmt(cursor_set)
        .bind(1, pos).bind(2, name).run();
  }
};

// A transaction guard for the short write transactions below.
class Txn {
 public:
  explicit Txn(SqliteStorage::Impl& impl) : impl_(impl) {}
  Status begin() {
    auto st = impl_.begin();
    active_ = st.ok();
    return st;
  }
  Status commit() {
    auto st = impl_.do_commit();
    if (st.ok()) active_ = false;
    return st;
  }
  ~Txn() {
    if (active_) impl_.do_rollback();
  }
  // Hands the open transaction to another owner.
  void release() { active_ = false; }
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;

 private:
  SqliteStorage::Impl& impl_;
  bool active_ = false;
};

// ---------------------------------------------------------------------------

namespace {

// Brings the database up to the last of `steps`, one step per transaction.
// PRAGMA user_version is read again inside each transaction, so two
// processes opening the same old file never run a step twice. A database
// newer than the last step is refused and left as it is; a step that fails
// is rolled back and the database stays at the version before it.
void migrate(SqliteStorage::Impl& impl, const std::filesystem::path& file,
             std::span<const SchemaStep> steps) {
  const int latest = steps.back().version;
  const std::string name = file.string();
  auto fail = [&](const std::string& what) {
    impl.do_rollback();
    throw StorageError("database " + name + ": " + what);
  };
  auto run = [&](const char* sql, const char* what) {
    if (auto st = impl.exec(sql); !st.ok()) fail(std::string(what) + ": " + st.message());
  };
  int first = -1;
  while (true) {
    run("BEGIN IMMEDIATE", "cannot start the schema check");
    auto read = query_int(impl.db.get(), "PRAGMA user_version");
    if (!read) fail(read.error().message());
    const int version = static_cast<int>(*read);
    if (first < 0) first = version;
    if (version > latest) {
      impl.do_rollback();
      throw StorageError("database " + name + " has schema version " + std::to_string(version) +
                         ", newer than this stockwatch understands (" + std::to_string(latest) +
                         "); run the newer stockwatch or restore a backup");
    }
    if (version == latest) {
      run("COMMIT", "cannot end the schema check");
      break;
    }
    const SchemaStep& step = steps[static_cast<std::size_t>(version)];
    const std::string sql(step.sql);
    if (auto st = impl.exec(sql.c_str()); !st.ok()) {
      fail("schema step " + std::to_string(version) + " -> " + std::to_string(step.version) +
           " (" + std::string(step.description) + ") failed: " + st.message() +
           "; the database stays at schema version " + std::to_string(version));
    }
    run(("PRAGMA user_version = " + std::to_string(step.version)).c_str(),
        "cannot record the schema version");
    run("COMMIT", "cannot commit the schema step");
    // A new file is created in one go as far as the log is concerned; an
    // existing database logs every step it takes.
    if (first > 0) {
      spdlog::info("database {}: schema version {} -> {}: {}", name, version, step.version,
                   step.description);
    }
  }
  if (first == 0) {
    spdlog::info("database {}: created schema version {}", name, latest);
  } else if (first < latest) {
    spdlog::info("database {}: upgraded from schema version {} to {}", name, first, latest);
  }
}

}  // namespace

std::span<const SchemaStep> SqliteStorage::schema_steps() { return kSchemaSteps; }

int SqliteStorage::schema_version() { return kSchemaSteps[std::size(kSchemaSteps) - 1].version; }

std::unique_ptr<SqliteStorage> SqliteStorage::open(const std::filesystem::path& file,
                                       const StorageOptions& options, const Clock& clock) {
  return open_with_schema(file, options, clock, schema_steps());
}

std::unique_ptr<SqliteStorage> SqliteStorage::open_with_schema(const std::filesystem::path& file,
                                                   const StorageOptions& options,
                                                   const Clock& clock,
                                                   std::span<const SchemaStep> steps) {
  check_steps(steps);
  auto impl = std::make_unique<Impl>(clock);
  impl->item_names = options.item_names ? options.item_names : std::make_shared<ItemNames>();
  impl->sorted_inventory = options.sorted_inventory;
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(file.c_str(), &raw,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  impl->db.reset(raw);  // owns the handle even when opening failed
  if (rc != SQLITE_OK) {
    throw StorageError("cannot open database " + file.string() + ": " +
                       (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(raw, options.busy_timeout_ms);
  sqlite3_extended_result_codes(raw, 1);

  auto must = [&](const char* sql) {
    auto st = impl->exec(sql);
    if (!st.ok()) throw StorageError("database " + file.string() + ": " + st.message());
  };
  must("PRAGMA page_size = 32768");  // takes effect on a new database only
  must("PRAGMA journal_mode = WAL");
  must(options.synchronous == "full" ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
  // No foreign keys: changes.report_id and reports.duplicate_of are written
  // in the same transaction as the rows they name. Declared foreign keys
  // made every new ledger row scan the whole change log (no index on it).
  must("PRAGMA cache_size = -8192");  // 8 MiB page cache per connection
  must("PRAGMA journal_size_limit = 67108864");  // truncate the WAL to 64 MiB after a checkpoint
  if (options.defer_maintenance) {
    // The hook replaces SQLite's automatic checkpoint, which uses the same
    // slot: a later PRAGMA wal_autocheckpoint on this connection would
    // silently remove it, and checkpoint(bytes) would then never run.
    impl->log_frames = 0;
    sqlite3_wal_hook(
        raw,
        [](void* p, sqlite3*, const char*, int frames) {
          auto* impl = static_cast<Impl*>(p);
          if (frames < impl->checkpointed_frames) impl->checkpointed_frames = 0;  // started over
          impl->log_frames = frames;
          return SQLITE_OK;
        },
        impl.get());
  }
  must("PRAGMA temp_store = FILE");     // keeps memory bounded for huge reports
  must("CREATE TEMP TABLE IF NOT EXISTS seen_rows(h INTEGER PRIMARY KEY, line INTEGER NOT NULL)");

  migrate(*impl, file, steps);
  if (impl->log_frames >= 0) {
    auto page_size = query_int(raw, "PRAGMA page_size");
    if (!page_size) {
      throw StorageError("database " + file.string() + ": cannot read its page size: " +
                         page_size.error().message());
    }
    impl->page_size = *page_size;
  }
  // An older list of steps (tests making an old file) leaves a schema these
  // statements do not fit: such a connection is only for closing.
  if (steps.size() >= std::size(kSchemaSteps)) impl->prepare_all();
  return std::unique_ptr<SqliteStorage>(new SqliteStorage(std::move(impl)));
}

SqliteStorage::SqliteStorage(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Status SqliteStorage::maintain() {
  if (impl_->grouped) return {};
  return checkpoint(kCheckpointLogBytes);
}

Status SqliteStorage::begin_group() {
  if (impl_->grouped) return Error(ErrorCode::kInternal, "a group of writes is already open");
  if (auto st = impl_->stmt(impl_->begin_immediate).run(); !st.ok()) return st;
  impl_->grouped = true;
  return {};
}

Status SqliteStorage::end_group() {
  if (!impl_->grouped) return Error(ErrorCode::kInternal, "no group of writes is open");
  impl_->grouped = false;
  if (sqlite3_get_autocommit(impl_->db.get())) {
    return Error(ErrorCode::kIo, "an earlier failure ended this group of writes; nothing of it was kept");
  }
  if (auto st = impl_->do_commit(); !st.ok()) {
    impl_->do_rollback();
    return st;
  }
  return {};
}

void SqliteStorage::abandon_group() noexcept {
  if (!impl_->grouped) return;
  impl_->grouped = false;
  impl_->do_rollback();
}

Status SqliteStorage::checkpoint(std::int64_t min_log_bytes) {
  auto& impl = *impl_;
  if (impl.log_frames >= 0) {
    const std::int64_t fresh = std::max(impl.log_frames - impl.checkpointed_frames,
                                        impl.pages_written() - impl.written_at_checkpoint);
    if (fresh * impl.page_size < min_log_bytes) return {};
  }
  int log = 0, done = 0;
  const int rc = sqlite3_wal_checkpoint_v2(impl.db.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                           &log, &done);
  if (rc == SQLITE_BUSY) return {};  // another connection is checkpointing
  if (rc != SQLITE_OK) return sqlite::error_from(impl.db.get(), rc, "checkpoint");
  // All copied: the next writer that finds no reader in the log starts it
  // over; until then, only frames written after these count towards the
  // next checkpoint. Otherwise a reader still needs the rest, and the next
  // call tries again.
  if (impl.log_frames >= 0 && done == log && log >= 0) {
    impl.checkpointed_frames = log;
    impl.log_frames = log;
    impl.written_at_checkpoint = impl.pages_written();
  }
  return {};
}
SqliteStorage::~SqliteStorage() = default;

// --- Ledger ------------------------------------------------------------------

Result<std::optional<ReportRecord>> SqliteStorage::find_loaded(const std::string& sha256) {
  auto& s = impl_->stmt(impl_->find_loaded);
  ResetGuard g(s);
  s.bind(1, sha256);
  auto r = s.step();
  if (!r) return r.error();
  if (!*r) return std::optional<ReportRecord>();
  return std::optional<ReportRecord>(read_report(s));
}

Result<std::optional<ReportRecord>> SqliteStorage::find_latest(const std::string& path,
                                                         const std::string& sha256) {
  auto& s = impl_->stmt(impl_->find_latest);
  ResetGuard g(s);
  s.bind(1, path).bind(2, sha256);
  auto r = s.step();
  if (!r) return r.error();
  if (!*r) return std::optional<ReportRecord>();
  return std::optional<ReportRecord>(read_report(s));
}

Result<bool> SqliteStorage::loaded_with_size(std::int64_t size) {
  auto& s = impl_->stmt(impl_->loaded_size);
  ResetGuard g(s);
  s.bind(1, size);
  auto r = s.step();
  if (!r) return r.error();
  return *r;
}

Result<ReportLoad> SqliteStorage::begin_report() {
  Txn txn(*impl_);
  if (auto st = txn.begin(); !st.ok()) return st.error();
  if (auto st = impl_->stmt(impl_->report_begin).run(); !st.ok()) return st.error();
  const std::int64_t id = sqlite3_last_insert_rowid(impl_->db.get());
  txn.release();  // the writer owns the transaction now
  return ReportLoad(std::make_unique<SqliteReportWriter>(*impl_, id));
}

namespace {
Status insert_report(SqliteStorage::Impl& impl, const ReportRecord& rec, std::int64_t* id_out) {
  auto& s = impl.stmt(impl.report_insert);
  s.bind(1, rec.path)
      .bind(2, rec.size)
      .bind(3, rec.sha256)
      .bind(4, to_string(rec.status))
      .bind(5, rec.rows)
      .bind(6, rec.changes)
      .bind(7, rec.error)
      .bind(8, rec.duplicate_of)
      .bind(9, to_unix_ms(rec.received_at))
      .bind(10, to_unix_ms(rec.finished_at))
      .bind(11, rec.archived_path)
      .bind(12, rec.problems)
      .bind(13, rec.arrived_by);
  auto st = s.run();
  if (st.ok() && id_out) *id_out = sqlite3_last_insert_rowid(impl.db.get());
  return st;
}
}  // namespace

Result<std::int64_t> SqliteStorage::record_report(const ReportRecord& record) {
  Txn txn(*impl_);
  if (auto st = txn.begin(); !st.ok()) return st.error();
  std::int64_t id = 0;
  if (auto st = insert_report(*impl_, record, &id); !st.ok())
    return st.error();
  if (auto st = txn.commit(); !st.ok()) return st.error();
  return id;
}

Status SqliteStorage::mark_archived(std::int64_t report_id, const std::string& archived_path) {
  return impl_->stmt(impl_->mark_archived)
      .bind(1, archived_path)
      .bind(2, report_id)
      .run();
}

Result<std::optional<ReportRecord>> SqliteStorage::report(std::int64_t id) {
  auto& s = impl_->stmt(impl_->report_by_id);
  ResetGuard g(s);
  s.bind(1, id);
  auto r = s.step();
  if (!r) return r.error();
  if (!*r) return std::optional<ReportRecord>();
  return std::optional<ReportRecord>(read_report(s));
}

Result<std::vector<ReportRecord>> SqliteStorage::recent_reports(int limit) {
  auto& s = impl_->stmt(impl_->recent_reports);
  ResetGuard g(s);
  s.bind(1, limit);
  return collect<ReportRecord>(s, read_report);
}

// --- Report load ---------------------------------------------------------------

SqliteReportWriter::SqliteReportWriter(SqliteStorage::Impl& impl, std::int64_t report_id)
    : impl_(&impl), report_id_(report_id) {}

void SqliteReportWriter::rollback() noexcept {
  if (impl_) {
    impl_->do_rollback();
    impl_ = nullptr;
  }
}

Status SqliteReportWriter::upsert(std::string_view store, std::string_view item, std::int64_t count,
                                  std::uint64_t line) {
  if (!impl_) return Error(ErrorCode::kInternal, "report load already finished");
  const std::size_t so = names_.size();
  names_.append(store);
  const std::size_t io = names_.size();
  names_.append(item);
  pending_.push_back({so, store.size(), io, item.size(), count, line});
  ++rows_;
  // Reports hold few stores, usually in runs: one comparison per row.
  if (store != last_store_) {
    last_store_.assign(store);
    stores_.insert(last_store_);
  }
  if (pending_.size() >= static_cast<std::size_t>(kBatchRows)) return flush();
  return {};
}

namespace {

// Changed rows are written in chunks whose sizes are powers of two up to
// kBatchRows, so a few statements, each prepared once, cover every batch.
constexpr int kChunkKinds = SqliteStorage::Impl::kChunkKinds;
static_assert(SqliteReportWriter::kBatchRows == 1 << (kChunkKinds - 1));

// "INSERT ... VALUES (?3,?4,?5,?1,?2),(?6,?7,?8,?1,?2),...": ?1 is the time,
// ?2 the report; each row adds store, item and count. New rows are plain
// inserts; rows that exist are updated through ON CONFLICT.
//
// OR FAIL: a failing statement keeps what it wrote before the failure. The
// whole report's transaction is rolled back then, so nothing is lost, and
// SQLite needs no statement journal to undo a statement on its own: with
// the default (ABORT), the journal copied every page a batch touched, about
// as many bytes again as the load wrote (ON CONFLICT DO UPDATE still needs
// one).
std::string inventory_sql(std::size_t rows, bool update) {
  // A new row is a first sighting (schema step 14): its report and count
  // are noted with it; an update leaves them as they were.
  std::string sql =
      "INSERT OR FAIL INTO inventory(store, item, count, updated_at, report_id, first_report, "
      "first_count) VALUES ";
  for (std::size_t i = 0; i < rows; ++i) {
    const std::size_t p = 3 + 3 * i;
    if (i) sql += ',';
    sql += "(?" + std::to_string(p) + ",?" + std::to_string(p + 1) + ",?" + std::to_string(p + 2) +
           ",?1,?2,?2,?" + std::to_string(p + 2) + ")";
  }
  if (update) {
    sql += " ON CONFLICT(store, item) DO UPDATE SET count = excluded.count, "
           "updated_at = excluded.updated_at, report_id = excluded.report_id";
  }
  return sql;
}

// The change records of the same rows: ?2 the report (?1, the time, is
// not part of a change record); each row adds store, item, old and new
// count. When every row is new (a first load), the old count is written in
// the statement, and each row adds store, item and new count, like
// inventory_sql(). The kind follows from the old count (a generated column).
std::string changes_sql(std::size_t rows, bool all_new) {
  std::string sql =
      "INSERT OR FAIL INTO changes(store, item, old_count, new_count, report_id) VALUES ";
  for (std::size_t i = 0; i < rows; ++i) {
    if (i) sql += ',';
    if (all_new) {
      const std::size_t p = 3 + 3 * i;
      sql += "(?" + std::to_string(p) + ",?" + std::to_string(p + 1) + ",NULL,?" +
             std::to_string(p + 2) + ",?2)";
    } else {
      const std::size_t p = 3 + 4 * i;
      sql += "(?" + std::to_string(p) + ",?" + std::to_string(p + 1) + ",?" +
             std::to_string(p + 2) + ",?" + std::to_string(p + 3) + ",?2)";
    }
  }
  return sql;
}

// The four kinds of batch statement, by chunk size (write_chunks()).
std::string inventory_insert_sql(std::size_t n) { return inventory_sql(n, false); }
std::string inventory_upsert_sql(std::size_t n) { return inventory_sql(n, true); }
std::string changes_new_sql(std::size_t n) { return changes_sql(n, true); }
std::string changes_any_sql(std::size_t n) { return changes_sql(n, false); }

// Rows of the scan that are not in the batch, read before seeking again.
constexpr int kMaxSkippedRows = 32;

// Key order of SQLite's BINARY collation: bytes, then length.
int compare_keys(std::string_view s1, std::string_view i1, std::string_view s2,
                 std::string_view i2) {
  if (const int c = s1.compare(s2); c != 0) return c;
  return i1.compare(i2);
}

}  // namespace

void SqliteReportWriter::bind_batch_row(Statement& s, int j, std::uint32_t k) const {
  const int p = 3 + 3 * j;
  s.bind(p, store_of(k)).bind(p + 1, item_of(k)).bind(p + 2, pending_[k].count);
}

Status SqliteReportWriter::read_current_counts() {
  auto& impl = *impl_;
  const std::size_t n = pending_.size();
  // Equal keys (a row repeated within the batch) stay in row order.
  auto less = [&](std::uint32_t a, std::uint32_t b) {
    const int c = compare_keys(store_of(a), item_of(a), store_of(b), item_of(b));
    return c < 0 || (c == 0 && a < b);
  };
  order_.resize(n);
  for (std::size_t k = 0; k < n; ++k) order_[k] = static_cast<std::uint32_t>(k);
  if (!std::is_sorted(order_.begin(), order_.end(), less)) {
    std::sort(order_.begin(), order_.end(), less);
  }
  old_.assign(n, kAbsent);

  Statement& scan = impl.stmt(impl.inventory_from);
  std::size_t i = 0;
  while (i < n) {
    ResetGuard g(scan);
    scan.bind(1, store_of(order_[i])).bind(2, item_of(order_[i]));
    int skipped = 0;
    while (i < n && skipped <= kMaxSkippedRows) {
      auto row = scan.step();
      if (!row) return row.error();
      if (!*row) {
        i = n;  // past the last row of inventory: the rest are new
        break;
      }
      const std::string_view s = scan.text_view(0);
      const std::string_view t = scan.text_view(1);
      // Keys of the batch before this row are not in inventory.
      while (i < n && compare_keys(store_of(order_[i]), item_of(order_[i]), s, t) < 0) ++i;
      if (i < n && compare_keys(store_of(order_[i]), item_of(order_[i]), s, t) == 0) {
        old_[order_[i++]] = scan.i64(2);
        skipped = 0;
      } else {
        ++skipped;
      }
    }
  }
  // A key repeated within the batch (the loader rejects such a report, but
  // the batch must still be written without error) finds the count its
  // previous row leaves.
  for (std::size_t j = 1; j < n; ++j) {
    const std::uint32_t a = order_[j - 1], b = order_[j];
    if (store_of(a) == store_of(b) && item_of(a) == item_of(b)) old_[b] = pending_[a].count;
  }
  return {};
}

Status SqliteReportWriter::flush() {
  if (!impl_) return Error(ErrorCode::kInternal, "report load already finished");
  if (!pending_.empty()) {
    auto st = write_batch();
    pending_.clear();
    names_.clear();
    if (!st.ok()) return st;
  }
  return write_logged();
}

Status SqliteReportWriter::log_change(std::string_view store, std::string_view item,
                                      std::optional<std::int64_t> old_count, std::int64_t count) {
  if (!impl_) return Error(ErrorCode::kInternal, "report load already finished");
  const std::size_t so = log_names_.size();
  log_names_.append(store);
  const std::size_t io = log_names_.size();
  log_names_.append(item);
  logged_.push_back({so, store.size(), io, item.size(), old_count.value_or(kAbsent), count});
  if (logged_.size() >= static_cast<std::size_t>(kBatchRows)) return write_logged();
  return {};
}

namespace {

// Runs `sql(n)` for the rows `rows` in chunks of powers of two, with ?1 the
// time and ?2 the report; `bind(statement, j, row)` binds row j of a chunk.
// Each chunk size's statement is prepared the first time a load needs it
// and kept with the connection (`slots`): preparing all of them, the larger
// ones with hundreds of parameters, cost every process that opens the
// database about 50 million instructions, most of them for loads that
// never write more than a few rows. A failure to prepare is the load's
// error, of the class SQLite gave it (busy, I/O, ...).
template <typename Bind>
Status write_chunks(sqlite3* db, std::optional<Statement> (&slots)[kChunkKinds],
                    std::string (*sql)(std::size_t), const std::vector<std::uint32_t>& rows,
                    std::int64_t now, std::int64_t report_id, Bind bind) {
  std::size_t done = 0;
  while (done < rows.size()) {
    int kind = kChunkKinds - 1;
    while ((std::size_t{1} << kind) > rows.size() - done) --kind;
    const std::size_t n = std::size_t{1} << kind;
    auto& s = slots[kind];
    if (!s) {
      auto prepared = Statement::prepare(db, sql(n));
      if (!prepared) return prepared.error();
      s.emplace(std::move(prepared).value());
    }
    s->bind(1, now).bind(2, report_id);
    for (std::size_t j = 0; j < n; ++j) bind(*s, static_cast<int>(j), rows[done + j]);
    if (auto st = s->run_rebound(); !st.ok()) return st;
    done += n;
  }
  return {};
}

}  // namespace


namespace {

// What an alert event needs of one change record.
struct ChangeFacts {
  std::string_view store, item;
  std::optional<std::int64_t> old_count;
  std::int64_t count = 0;
};

// The alert events of `n` change records just inserted one after the other
// (the last of them numbered `last_seq`), decided here once
// (stock_event()), each under the seq of its change record. `facts(j)`
// gives the j-th record, in insert order.
// `now` and `before` are the minimum levels (null: 0, and no minimum is
// stored with the event).
template <typename Facts>
Status insert_events(Statement& ev, std::int64_t last_seq, std::size_t n, std::int64_t report_id,
                     const MinimumLevels* now, const MinimumLevels* before, const Facts& facts) {
  const std::int64_t first = last_seq - static_cast<std::int64_t>(n) + 1;
  for (std::size_t j = 0; j < n; ++j) {
    const ChangeFacts c = facts(j);
    std::optional<std::int64_t> minimum;
    std::optional<EventKind> event;
    if (!now) {
      event = stock_event(c.old_count, c.count);
    } else {
      minimum = now->minimum_of(c.store, c.item);
      const std::int64_t old_minimum = before ? before->minimum_of(c.store, c.item) : *minimum;
      event = stock_event(c.old_count, c.count, *minimum, old_minimum);
    }
    if (!event) continue;
    ev.bind(8, minimum);
    ev.bind(1, first + static_cast<std::int64_t>(j))
        .bind(2, event_name(*event))
        .bind(3, c.store)
        .bind(4, c.item)
        .bind(5, c.old_count)
        .bind(6, c.count)
        .bind(7, report_id);
    if (auto st = ev.run(); !st.ok()) return st;
  }
  return {};
}

}  // namespace

// Writes the rows of the batch that are new or have another count, and one
// change record for each, in row order; a row with the same count writes
// nothing.
Status SqliteReportWriter::write_batch() {
  if (auto st = read_current_counts(); !st.ok()) return st;
  changed_.clear();
  inserted_.clear();
  updated_.clear();
  // The change records go in row order; the inventory rows in key order
  // (order_), so a batch whose rows take turns among a few places of the
  // table (a report's rows are written unsorted when they come grouped by
  // store) writes each place's rows one after the other instead of seeking
  // from the root for every row.
  for (std::size_t k = 0; k < pending_.size(); ++k) {
    if (old_[k] != pending_[k].count) changed_.push_back(static_cast<std::uint32_t>(k));
  }
  for (const std::uint32_t k : order_) {
    if (old_[k] == pending_[k].count) continue;
    (old_[k] == kAbsent ? inserted_ : updated_).push_back(k);
  }
  if (changed_.empty()) return {};
  auto& impl = *impl_;
  const std::int64_t now = to_unix_ms(impl.clock.now());
  const auto bind_row = [&](Statement& s, int j, std::uint32_t k) { bind_batch_row(s, j, k); };
  if (auto st = write_chunks(impl.db.get(), impl.inv_insert, inventory_insert_sql, inserted_, now, report_id_, bind_row);
      !st.ok()) {
    return st;
  }
  if (auto st = write_chunks(impl.db.get(), impl.inv_upsert, inventory_upsert_sql, updated_, now, report_id_, bind_row);
      !st.ok()) {
    return st;
  }
  changes_ += static_cast<std::int64_t>(changed_.size());
  first_sightings_ += static_cast<std::int64_t>(inserted_.size());
  if (change_sink_) {
    for (const std::uint32_t k : changed_) {
      const auto old = old_[k] == kAbsent ? std::nullopt : std::optional<std::int64_t>(old_[k]);
      if (auto st = change_sink_(store_of(k), item_of(k), old, pending_[k].count, pending_[k].line);
          !st.ok()) {
        return st;
      }
    }
    return {};
  }
  // When every changed row is new, the change records take the same
  // parameters as the inventory rows.
  const auto bind_change = [&](Statement& s, int j, std::uint32_t k) {
    const int q = 3 + 4 * j;
    s.bind(q, store_of(k))
        .bind(q + 1, item_of(k))
        .bind(q + 2, old_[k] == kAbsent ? std::nullopt : std::optional<std::int64_t>(old_[k]))
        .bind(q + 3, pending_[k].count);
  };
  const Status logged =
      updated_.empty()
          ? write_chunks(impl.db.get(), impl.change_insert_new, changes_new_sql, changed_, now, report_id_, bind_row)
          : write_chunks(impl.db.get(), impl.change_insert, changes_any_sql, changed_, now, report_id_, bind_change);
  if (!logged.ok()) return logged;
  note_seqs(changed_.size());
  return insert_events(impl.stmt(impl.event_insert), last_seq_, changed_.size(), report_id_,
                       minimums_.get(), minimums_before_.get(), [&](std::size_t j) {
                         const std::uint32_t k = changed_[j];
                         return ChangeFacts{store_of(k), item_of(k),
                                            old_[k] == kAbsent
                                                ? std::nullopt
                                                : std::optional<std::int64_t>(old_[k]),
                                            pending_[k].count};
                       });
}

// The change numbers are the row ids SQLite gave the records: the last
// one's, and, the records of one transaction being numbered one after the
// other (one writer holds the lock; no record is ever deleted), the first
// one's from it. So each call inserts its `n` records consecutively.
void SqliteReportWriter::note_seqs(std::size_t n) {
  if (n == 0) return;
  last_seq_ = sqlite3_last_insert_rowid(impl_->db.get());
  if (first_seq_ == 0) first_seq_ = last_seq_ - static_cast<std::int64_t>(n) + 1;
}

// Writes the change records given to log_change(), in their order.
Status SqliteReportWriter::write_logged() {
  if (logged_.empty()) return {};
  auto& impl = *impl_;
  const std::int64_t now = to_unix_ms(impl.clock.now());
  changed_.resize(logged_.size());
  for (std::size_t k = 0; k < logged_.size(); ++k) changed_[k] = static_cast<std::uint32_t>(k);
  const auto name = [&](std::size_t off, std::size_t len) {
    return std::string_view(log_names_.data() + off, len);
  };
  const Status st = write_chunks(
      impl.db.get(), impl.change_insert, changes_any_sql, changed_, now, report_id_,
      [&](Statement& s, int j, std::uint32_t k) {
        const Logged& r = logged_[k];
        const int q = 3 + 4 * j;
        s.bind(q, name(r.store_off, r.store_len))
            .bind(q + 1, name(r.item_off, r.item_len))
            .bind(q + 2, r.old_count == kAbsent ? std::nullopt
                                                : std::optional<std::int64_t>(r.old_count))
            .bind(q + 3, r.count);
      });
  Status events = st;
  if (st.ok()) {
    note_seqs(logged_.size());
    events = insert_events(impl.stmt(impl.event_insert), last_seq_, logged_.size(), report_id_,
                           minimums_.get(), minimums_before_.get(), [&](std::size_t k) {
                             const Logged& r = logged_[k];
                             return ChangeFacts{name(r.store_off, r.store_len),
                                                name(r.item_off, r.item_len),
                                                r.old_count == kAbsent
                                                    ? std::nullopt
                                                    : std::optional<std::int64_t>(r.old_count),
                                                r.count};
                           });
  }
  logged_.clear();
  log_names_.clear();
  return events;
}

Result<bool> SqliteReportWriter::remember_key(std::int64_t key) {
  if (!impl_) return Error(ErrorCode::kInternal, "report load already finished");
  auto& impl = *impl_;
  // The keys of an earlier load that remembered any are cleared by the
  // first key of this one: a load that remembers none (the loader's) never
  // writes the temporary table.
  if (!keys_cleared_) {
    if (auto st = impl.stmt(impl.seen_clear).run(); !st.ok()) return st.error();
    keys_cleared_ = true;
  }
  auto& seen = impl.stmt(impl.seen_insert);
  seen.bind(1, key);
  if (auto st = seen.run(); !st.ok()) return st.error();
  return sqlite3_changes(impl.db.get()) == 0;
}

Result<std::int64_t> SqliteReportWriter::commit(ReportRecord record) {
  if (!impl_) return Error(ErrorCode::kInternal, "report load already finished");
  if (auto st = flush(); !st.ok()) {
    rollback();
    return st.error();
  }
  auto& impl = *impl_;
  // The ledger row begin_report() inserted becomes the loaded report.
  auto& s = impl.stmt(impl.report_finish);
  s.bind(1, report_id_)
      .bind(2, record.path)
      .bind(3, record.size)
      .bind(4, record.sha256)
      .bind(5, rows_)
      .bind(6, changes_)
      .bind(7, to_unix_ms(record.received_at))
      .bind(8, to_unix_ms(record.finished_at))
      .bind(9, record.archived_path)
      .bind(10, first_seq_)
      .bind(11, last_seq_)
      .bind(12, record.report_day)
      .bind(13, record.date_source)
      .bind(14, record.arrived_by)
      .bind(15, first_sightings_);
  if (auto st = s.run(); !st.ok()) {
    rollback();
    return st.error();
  }
  if (sqlite3_changes(impl.db.get()) != 1) {
    rollback();
    return Error(ErrorCode::kInternal, "the ledger row of this load is gone");
  }
  for (const auto& store : stores_) {
    if (auto st = impl.stmt(impl.report_store_insert).bind(1, store).bind(2, report_id_).run();
        !st.ok()) {
      rollback();
      return st.error();
    }
  }
  if (auto st = impl.do_commit(); !st.ok()) {
    rollback();
    return st.error();
  }
  impl_ = nullptr;
  return report_id_;
}

// --- Inventory -------------------------------------------------------------------

Result<std::optional<std::int64_t>> SqliteStorage::count_of(std::string_view store,
                                                       std::string_view item) {
  auto& s = impl_->stmt(impl_->count_of);
  ResetGuard g(s);
  s.bind(1, store).bind(2, item);
  auto r = s.step();
  if (!r) return r.error();
  if (!*r) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(s.i64(0));
}

// --- Checker -----------------------------------------------------------------------

namespace {

// Reads the events after `after` up to p.last_seq, at most
// `page_size` of them, into p's page; sets p.more_after.
Status read_change_page(SqliteStorage::Impl& impl, std::int64_t after, PendingChanges& p,
                        std::size_t page_size) {
  p.events.clear();
  p.more_after = 0;
  if (page_size == 0) page_size = 1;
  auto& s = impl.stmt(impl.alerting_changes);
  ResetGuard g(s);
  s.bind(1, after).bind(2, p.last_seq).bind(3, static_cast<std::int64_t>(page_size));
  std::size_t read = 0;
  std::int64_t last = after;
  while (true) {
    auto r = s.step();
    if (!r) return r.error();
    if (!*r) break;
    ChangeRecord c;
    c.seq = s.i64(0);
    c.store = s.text(1);
    c.item = s.text(2);
    c.old_count = s.opt_i64(3);
    c.new_count = s.i64(4);
    c.kind = c.old_count ? ChangeKind::kModify : ChangeKind::kInsert;
    c.report_id = p.report_id;
    c.event = event_from_name(s.text(5));
    c.minimum = s.opt_i64(6);
    last = c.seq;
    ++read;
    // A name this build does not know (written by a newer one) raises nothing here.
    if (c.event) p.events.push_back(std::move(c));
  }
  // A full page may have more after it; the next read tells.
  if (read == page_size) p.more_after = last;
  return {};
}

}  // namespace

Result<std::optional<PendingChanges>> SqliteStorage::next_pending_changes(std::size_t page_size) {
  auto cur = impl_->cursor("changes");
  if (!cur) return cur.error();
  PendingChanges p;
  {
    auto& s = impl_->stmt(impl_->first_pending_change);
    ResetGuard g(s);
    s.bind(1, *cur);
    auto r = s.step();
    if (!r) return r.error();
    if (!*r) return std::optional<PendingChanges>();
    p.report_id = s.i64(0);
  }
  {
    auto& s = impl_->stmt(impl_->last_change_of_report);
    ResetGuard g(s);
    s.bind(1, p.report_id);
    auto r = s.step();
    if (!r) return r.error();
    if (!*r) return Error(ErrorCode::kCorrupt, "change log names report " +
                                                   std::to_string(p.report_id) +
                                                   ", which is not in the ledger");
    p.last_seq = s.i64(0);
  }
  if (auto st = read_change_page(*impl_, *cur, p, page_size); !st.ok()) return st.error();
  auto rep = report(p.report_id);
  if (!rep) return rep.error();
  if (*rep) {
    p.report_path = (*rep)->path;
    p.report_time = (*rep)->finished_at;
  }
  return std::optional<PendingChanges>(std::move(p));
}

Status SqliteStorage::next_change_page(PendingChanges& p, std::size_t page_size) {
  if (p.more_after == 0) return Error(ErrorCode::kInternal, "no page after the last one");
  return read_change_page(*impl_, p.more_after, p, page_size);
}

Result<std::optional<ReportRecord>> SqliteStorage::next_pending_rejection() {
  auto cur = impl_->cursor("rejected");
  if (!cur) return cur.error();
  auto& s = impl_->stmt(impl_->next_rejected);
  ResetGuard g(s);
  s.bind(1, *cur);
  auto r = s.step();
  if (!r) return r.error();
  if (!*r) return std::optional<ReportRecord>();
  return std::optional<ReportRecord>(read_report(s));
}

Status SqliteStorage::commit_check(std::int64_t last_change_seq, std::int64_t last_rejected_id,
                             const std::vector<OutboxMessage>& messages) {
  Txn txn(*impl_);
  if (auto st = txn.begin(); !st.ok()) return st;
  if (auto st = impl_->queue(messages); !st.ok()) return st;
  if (last_change_seq > 0) {
    if (auto st = impl_->set_cursor("changes", last_change_seq); !st.ok()) return st;
  }
  if (last_rejected_id > 0) {
    if (auto st = impl_->set_cursor("rejected", last_rejected_id); !st.ok()) return st;
  }
  return txn.commit();
}

// --- Schedules ----------------------------------------------------------------------
// A schedule's mark is a row of `cursors` named "schedule:<name>", its
// position the handled occurrence in Unix milliseconds. Prepared per call:
// a schedule is due once a month.

namespace {
std::string schedule_cursor(std::string_view name) { return "schedule:" + std::string(name); }

Result<std::optional<std::int64_t>> read_cursor(sqlite3* db, const std::string& name) {
  try {
    Statement s(db, "SELECT position FROM cursors WHERE name = ?1");
    s.bind(1, name);
    auto r = s.step();
    if (!r) return r.error();
    if (!*r) return std::optional<std::int64_t>();
    return std::optional<std::int64_t>(s.i64(0));
  } catch (const StorageError& e) {
    return Error(ErrorCode::kInternal, e.what());
  }
}
}  // namespace

Result<std::optional<TimePoint>> SqliteStorage::schedule_mark(std::string_view name) {
  auto pos = read_cursor(impl_->db.get(), schedule_cursor(name));
  if (!pos) return pos.error();
  if (!*pos) return std::optional<TimePoint>();
  return std::optional<TimePoint>(from_unix_ms(**pos));
}

Result<bool> SqliteStorage::commit_schedule(std::string_view name, TimePoint at,
                                            const std::vector<OutboxMessage>& messages) {
  const std::string cursor = schedule_cursor(name);
  Txn txn(*impl_);
  if (auto st = txn.begin(); !st.ok()) return st.error();
  auto pos = read_cursor(impl_->db.get(), cursor);
  if (!pos) return pos.error();
  if (*pos && **pos >= to_unix_ms(at)) return false;  // handled already: rolls back
  try {
    Statement s(impl_->db.get(),
                "INSERT INTO cursors(name, position) VALUES (?1, ?2) "
                "ON CONFLICT(name) DO UPDATE SET position = excluded.position");
    s.bind(1, cursor).bind(2, static_cast<std::int64_t>(to_unix_ms(at)));
    if (auto st = s.run(); !st.ok()) return st.error();
  } catch (const StorageError& e) {
    return Error(ErrorCode::kInternal, e.what());
  }
  if (auto st = impl_->queue(messages); !st.ok()) return st.error();
  if (auto st = txn.commit(); !st.ok()) return st.error();
  return true;
}

// --- Reports by email ---------------------------------------------------------------
// Prepared per call: a mail is rare next to a report's rows.

namespace {

Result<std::optional<MailReceipt>> read_mail(sqlite3* db, std::string_view key) {
  try {
    Statement s(db, "SELECT mail_key, message_id, sender, state, received_at, "
                    "COALESCE(answered_at, 0), reply_id FROM mail_receipts WHERE mail_key = ?1");
    s.bind(1, key);
    auto r = s.step();
    if (!r) return r.error();
    if (!*r) return std::optional<MailReceipt>();
    MailReceipt m;
    m.mail_key = s.text(0);
    m.message_id = s.text(1);
    m.sender = s.text(2);
    m.state = s.text_view(3) == "answered" ? MailState::kAnswered : MailState::kLoading;
    m.received_at = from_unix_ms(s.i64(4));
    m.answered_at = from_unix_ms(s.i64(5));
    m.reply_id = s.text(6);
    Statement a(db, "SELECT position, name, path, sha256, report_id FROM mail_attachments "
                    "WHERE mail_key = ?1 ORDER BY position");
    a.bind(1, key);
    for (;;) {
      auto row = a.step();
      if (!row) return row.error();
      if (!*row) break;
      m.attachments.push_back({static_cast<int>(a.i64(0)), a.text(1), a.text(2), a.text(3),
                               a.opt_i64(4)});
    }
    return std::optional<MailReceipt>(std::move(m));
  } catch (const StorageError& e) {
    return Error(ErrorCode::kInternal, e.what());
  }
}

}  // namespace

Result<MailReceipt> SqliteStorage::record_mail(const MailReceipt& receipt) {
  Txn txn(*impl_);
  if (auto st = txn.begin(); !st.ok()) return st.error();
  auto found = read_mail(impl_->db.get(), receipt.mail_key);
  if (!found) return found.error();
  if (*found) return std::move(**found);  // rolls back: nothing was written
  try {
    Statement s(impl_->db.get(),
                "INSERT INTO mail_receipts(mail_key, message_id, sender, state, received_at) "
                "VALUES (?1, ?2, ?3, 'loading', ?4)");
    s.bind(1, receipt.mail_key).bind(2, receipt.message_id).bind(3, receipt.sender)
        .bind(4, static_cast<std::int64_t>(to_unix_ms(receipt.received_at)));
    if (auto st = s.run(); !st.ok()) return st.error();
    Statement a(impl_->db.get(),
                "INSERT INTO mail_attachments(mail_key, position, name, path, sha256, report_id) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    for (const auto& at : receipt.attachments) {
      a.bind(1, receipt.mail_key).bind(2, at.position).bind(3, at.name).bind(4, at.path)
          .bind(5, at.sha256).bind(6, at.report_id);
      if (auto st = a.run_rebound(); !st.ok()) return st.error();
    }
  } catch (const StorageError& e) {
    return Error(ErrorCode::kInternal, e.what());
  }
  if (auto st = txn.commit(); !st.ok()) return st.error();
  MailReceipt stored = receipt;
  stored.state = MailState::kLoading;
  stored.reply_id.clear();
  return stored;
}

Result<std::optional<MailReceipt>> SqliteStorage::mail_receipt(std::string_view mail_key) {
  return read_mail(impl_->db.get(), mail_key);
}

Result<bool> SqliteStorage::finish_mail(std::string_view mail_key,
                                        const std::vector<MailAttachment>& attachments,
                                        const std::vector<OutboxMessage>& reply, TimePoint at) {
  Txn txn(*impl_);
  if (auto st = txn.begin(); !st.ok()) return st.error();
  try {
    Statement s(impl_->db.get(),
                "UPDATE mail_receipts SET state = 'answered', answered_at = ?2, reply_id = ?3 "
                "WHERE mail_key = ?1 AND state = 'loading'");
    const std::string reply_id = reply.empty() ? std::string() : reply.front().message_id;
    s.bind(1, mail_key).bind(2, static_cast<std::int64_t>(to_unix_ms(at))).bind(3, reply_id);
    if (auto st = s.run(); !st.ok()) return st.error();
    if (sqlite3_changes(impl_->db.get()) == 0) return false;  // answered already, or unknown
    Statement a(impl_->db.get(),
                "UPDATE mail_attachments SET report_id = ?3 WHERE mail_key = ?1 AND position = ?2");
    for (const auto& att : attachments) {
      if (!att.report_id) continue;
      a.bind(1, mail_key).bind(2, att.position).bind(3, *att.report_id);
      if (auto st = a.run_rebound(); !st.ok()) return st.error();
    }
  } catch (const StorageError& e) {
    return Error(ErrorCode::kInternal, e.what());
  }
  if (auto st = impl_->queue(reply); !st.ok()) return st.error();
  if (auto st = txn.commit(); !st.ok()) return st.error();
  return true;
}

Result<std::optional<MailSource>> SqliteStorage::report_mail(std::int64_t report_id) {
  try {
    Statement s(impl_->db.get(),
                "SELECT r.message_id, r.sender, a.name FROM mail_attachments a "
                "JOIN mail_receipts r ON r.mail_key = a.mail_key "
                "WHERE a.report_id = ?1 ORDER BY r.received_at LIMIT 1");
    s.bind(1, report_id);
    auto r = s.step();
    if (!r) return r.error();
    if (!*r) return std::optional<MailSource>();
    return std::optional<MailSource>(MailSource{s.text(0), s.text(1), s.text(2)});
  } catch (const StorageError& e) {
    return Error(ErrorCode::kInternal, e.what());
  }
}

Result<std::vector<MailSource>> SqliteStorage::report_mails(
    const std::vector<std::int64_t>& report_ids) {
  std::vector<MailSource> out;
  try {
    // One indexed look-up per entry (a page holds at most a thousand).
    Statement s(impl_->db.get(),
                "SELECT r.message_id, r.sender, a.name FROM mail_attachments a "
                "JOIN mail_receipts r ON r.mail_key = a.mail_key "
                "WHERE a.report_id = ?1 ORDER BY r.received_at LIMIT 1");
    for (const std::int64_t id : report_ids) {
      s.reset();
      s.bind(1, id);
      auto r = s.step();
      if (!r) return r.error();
      if (*r) out.push_back(MailSource{s.text(0), s.text(1), s.text(2), id});
    }
  } catch (const StorageError& e) {
    return Error(ErrorCode::kInternal, e.what());
  }
  return out;
}

Result<std::vector<ChangeRecord>> SqliteStorage::report_events(std::int64_t report_id, int limit) {
  std::vector<ChangeRecord> out;
  try {
    Statement s(impl_->db.get(),
                "SELECT seq, store, item, old_count, new_count, event, minimum FROM events "
                "WHERE report_id = ?1 ORDER BY seq LIMIT ?2");
    s.bind(1, report_id).bind(2, limit);
    for (;;) {
      auto r = s.step();
      if (!r) return r.error();
      if (!*r) break;
      ChangeRecord c;
      c.seq = s.i64(0);
      c.store = s.text(1);
      c.item = s.text(2);
      c.old_count = s.opt_i64(3);
      c.new_count = s.i64(4);
      c.kind = c.old_count ? ChangeKind::kModify : ChangeKind::kInsert;
      c.report_id = report_id;
      c.event = event_from_name(s.text_view(5));
      c.minimum = s.opt_i64(6);
      if (c.event) out.push_back(std::move(c));
    }
  } catch (const StorageError& e) {
    return Error(ErrorCode::kInternal, e.what());
  }
  return out;
}

// --- Outbox -------------------------------------------------------------------------

Result<std::vector<OutboxMessage>> SqliteStorage::due_messages(TimePoint now, int limit) {
  auto& s = impl_->stmt(impl_->outbox_due);
  ResetGuard g(s);
  s.bind(1, static_cast<std::int64_t>(to_unix_ms(now))).bind(2, limit);
  return collect<OutboxMessage>(s, read_outbox);
}

Result<std::vector<OutboxMessage>> SqliteStorage::claim_due(TimePoint now, int limit,
                                                            std::string_view claimant,
                                                            Duration lease) {
  auto& s = impl_->stmt(impl_->outbox_claim);
  ResetGuard g(s);
  s.bind(1, claimant)
      .bind(2, static_cast<std::int64_t>(to_unix_ms(now + lease)))
      .bind(3, static_cast<std::int64_t>(to_unix_ms(now)))
      .bind(4, limit);
  auto claimed = collect<OutboxMessage>(s, read_outbox);
  if (!claimed) return claimed;
  // RETURNING gives the rows in no promised order.
  std::sort(claimed->begin(), claimed->end(), [](const OutboxMessage& a, const OutboxMessage& b) {
    return std::pair(a.next_attempt_at, a.id) < std::pair(b.next_attempt_at, b.id);
  });
  return claimed;
}

Result<std::vector<std::int64_t>> SqliteStorage::outbox_ids(OutboxState state, int limit) {
  auto& s = impl_->stmt(impl_->outbox_ids_in);
  ResetGuard g(s);
  s.bind(1, to_string(state)).bind(2, limit);
  return collect<std::int64_t>(s, [](const Statement& st) { return st.i64(0); });
}

Result<std::optional<TimePoint>> SqliteStorage::next_due_time() {
  auto& s = impl_->stmt(impl_->outbox_next_due);
  ResetGuard g(s);
  auto r = s.step();
  if (!r) return r.error();
  if (!*r || s.is_null(0)) return std::optional<TimePoint>();
  return std::optional<TimePoint>(from_unix_ms(s.i64(0)));
}

Status SqliteStorage::mark_sent(std::int64_t id, TimePoint at) {
  return impl_->stmt(impl_->outbox_sent)
      .bind(1, static_cast<std::int64_t>(to_unix_ms(at)))
      .bind(2, id)
      .run();
}

Status SqliteStorage::mark_retry(std::int64_t id, TimePoint next_attempt, const std::string& error) {
  return impl_->stmt(impl_->outbox_retry)
      .bind(1, static_cast<std::int64_t>(to_unix_ms(next_attempt)))
      .bind(2, error)
      .bind(3, id)
      .run();
}

Status SqliteStorage::mark_dead(std::int64_t id, const std::string& error) {
  return impl_->stmt(impl_->outbox_dead)
      .bind(1, error)
      .bind(2, id)
      .run();
}

Result<bool> SqliteStorage::requeue(std::int64_t id, TimePoint at) {
  auto st = impl_->stmt(impl_->outbox_requeue)
      .bind(1, static_cast<std::int64_t>(to_unix_ms(at)))
      .bind(2, static_cast<std::int64_t>(to_unix_ms(at)))
      .bind(3, id)
      .run();
  if (!st.ok()) return st.error();
  return sqlite3_changes(impl_->db.get()) > 0;
}

Result<std::vector<OutboxMessage>> SqliteStorage::list_outbox(bool include_sent, int limit) {
  auto& s = include_sent
                ? impl_->stmt(impl_->outbox_list_all)
                : impl_->stmt(impl_->outbox_list_open);
  ResetGuard g(s);
  s.bind(1, limit);
  return collect<OutboxMessage>(s, read_outbox);
}

Result<OutboxCounts> SqliteStorage::open_outbox_counts() {
  auto& s = impl_->stmt(impl_->outbox_open_counts);
  ResetGuard g(s);
  OutboxCounts c;
  while (true) {
    auto r = s.step();
    if (!r) return r.error();
    if (!*r) break;
    if (outbox_state_from(s.text(0)) == OutboxState::kQueued) c.queued = s.i64(1);
    else c.dead = s.i64(1);
  }
  return c;
}

Result<std::int64_t> SqliteStorage::count_reports_since(TimePoint since) {
  auto& s = impl_->stmt(impl_->reports_since);
  ResetGuard g(s);
  s.bind(1, static_cast<std::int64_t>(to_unix_ms(since)));
  auto r = s.step();
  if (!r) return r.error();
  return s.i64(0);
}

Result<OutboxCounts> SqliteStorage::outbox_counts() {
  auto& s = impl_->stmt(impl_->outbox_counts);
  ResetGuard g(s);
  OutboxCounts c;
  while (true) {
    auto r = s.step();
    if (!r) return r.error();
    if (!*r) break;
    const auto state = outbox_state_from(s.text(0));
    const auto n = s.i64(1);
    if (state == OutboxState::kQueued) c.queued = n;
    else if (state == OutboxState::kSent) c.sent = n;
    else c.dead = n;
  }
  return c;
}

// --- Single-instance lock --------------------------------------------------------

namespace {
class FileInstanceLock final : public InstanceLock {
 public:
  explicit FileInstanceLock(PidLock lock) : lock_(std::move(lock)) {}

 private:
  PidLock lock_;
};
}  // namespace

Result<std::unique_ptr<InstanceLock>> SqliteStorage::lock_instance(
    const std::filesystem::path& file) {
  auto lock = PidLock::try_acquire(file.string() + ".lock", "the database " + file.string());
  if (!lock) return lock.error();
  return std::unique_ptr<InstanceLock>(std::make_unique<FileInstanceLock>(std::move(lock).value()));
}

// --- Backup ------------------------------------------------------------------------

namespace {

// Owns an sqlite3_backup*; finishing releases its locks and reports the
// outcome, so finish() is called explicitly on success and by the
// destructor on every early return.
class BackupHandle {
 public:
  BackupHandle(sqlite3* dest, sqlite3* source)
      : b_(sqlite3_backup_init(dest, "main", source, "main")) {}
  BackupHandle(const BackupHandle&) = delete;
  BackupHandle& operator=(const BackupHandle&) = delete;
  ~BackupHandle() {
    if (b_) sqlite3_backup_finish(b_);
  }
  [[nodiscard]] sqlite3_backup* get() const { return b_; }
  int finish() {
    const int rc = sqlite3_backup_finish(b_);
    b_ = nullptr;
    return rc;
  }

 private:
  sqlite3_backup* b_ = nullptr;
};

// Removes a file (and SQLite's journal beside it) unless released.
class FileRemover {
 public:
  explicit FileRemover(std::filesystem::path p) : path_(std::move(p)) {}
  FileRemover(const FileRemover&) = delete;
  FileRemover& operator=(const FileRemover&) = delete;
  ~FileRemover() {
    if (path_.empty()) return;
    ::unlink(path_.c_str());
    ::unlink((path_.string() + "-journal").c_str());
    ::unlink((path_.string() + "-wal").c_str());
    ::unlink((path_.string() + "-shm").c_str());
  }
  void release() { path_.clear(); }

 private:
  std::filesystem::path path_;
};

}  // namespace

Result<BackupInfo> SqliteStorage::backup(const std::filesystem::path& source,
                                   const std::filesystem::path& dest, int busy_timeout_ms) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::symlink_status(dest, ec).type() != fs::file_type::not_found) {
    return Error(ErrorCode::kInvalidInput,
                 dest.string() + " already exists; a backup never replaces a file");
  }
  const fs::path dir = dest.has_parent_path() ? dest.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec)) {
    return Error(ErrorCode::kNotFound, "the folder " + dir.string() + " does not exist");
  }

  try {
    // The source: read-only, never created, never migrated.
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(source.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                             nullptr);
    std::unique_ptr<sqlite3, sqlite::DbCloser> src(raw);
    if (rc != SQLITE_OK) {
      return sqlite::error_from(raw, rc, "cannot open database " + source.string());
    }
    sqlite3_busy_timeout(raw, busy_timeout_ms);
    auto version = query_int(raw, "PRAGMA user_version");
    if (!version) return version.error();
    if (*version == 0) {
      return Error(ErrorCode::kInvalidInput,
                   source.string() + " is not a stockwatch database (schema version 0)");
    }

    // The copy, under a temporary name in the destination's folder.
    std::string tmp_name = (dir / ("." + dest.filename().string() + ".tmp-XXXXXX")).string();
    const int fd = ::mkstemp(tmp_name.data());
    if (fd < 0) return errno_error("cannot create a file in " + dir.string(), errno);
    ::close(fd);
    const fs::path tmp(tmp_name);
    FileRemover remove_tmp(tmp);

    raw = nullptr;
    rc = sqlite3_open_v2(tmp.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    std::unique_ptr<sqlite3, sqlite::DbCloser> dst(raw);
    if (rc != SQLITE_OK) return sqlite::error_from(raw, rc, "cannot open " + tmp.string());
    sqlite3_busy_timeout(raw, busy_timeout_ms);

    {
      BackupHandle b(dst.get(), src.get());
      if (!b.get()) return sqlite::error_from(dst.get(), sqlite3_errcode(dst.get()), "backup");
      // One step copies every page inside one read transaction on the
      // source: a single consistent snapshot. Busy only while another
      // process recovers the WAL; wait for that up to the busy timeout.
      const auto deadline =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(busy_timeout_ms);
      while (true) {
        rc = sqlite3_backup_step(b.get(), -1);
        if (rc == SQLITE_DONE) break;
        const int primary = rc & 0xff;
        if ((primary == SQLITE_BUSY || primary == SQLITE_LOCKED) &&
            std::chrono::steady_clock::now() < deadline) {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
          continue;
        }
        return sqlite::error_from(nullptr, rc, "backup of " + source.string());
      }
      rc = b.finish();
      if (rc != SQLITE_OK) return sqlite::error_from(dst.get(), rc, "backup of " + source.string());
    }
    src.reset();

    // A backup is one file, not a WAL database with side files.
    auto mode = query_text(dst.get(), "PRAGMA journal_mode = DELETE");
    if (!mode) return mode.error();
    auto check = query_text(dst.get(), "PRAGMA quick_check");
    if (!check) return check.error();
    if (*check != "ok") {
      return Error(ErrorCode::kCorrupt, "the copy fails PRAGMA quick_check: " + *check);
    }
    BackupInfo info;
    info.file = dest;
    auto pages = query_int(dst.get(), "PRAGMA page_count");
    auto page_size = query_int(dst.get(), "PRAGMA page_size");
    auto copied_version = query_int(dst.get(), "PRAGMA user_version");
    auto reports = query_int(dst.get(), "SELECT COUNT(*) FROM reports");
    auto rows = query_int(dst.get(), "SELECT COUNT(*) FROM inventory");
    if (!pages) return pages.error();
    if (!page_size) return page_size.error();
    if (!copied_version) return copied_version.error();
    if (!reports) return reports.error();
    if (!rows) return rows.error();
    info.pages = *pages;
    info.page_size = *page_size;
    info.schema_version = static_cast<int>(*copied_version);
    info.reports = *reports;
    info.inventory_rows = *rows;
    rc = sqlite3_close_v2(dst.release());
    if (rc != SQLITE_OK) return sqlite::error_from(nullptr, rc, "closing " + tmp.string());

    if (auto st = sync_file(tmp); !st.ok()) return st.error();
    // The name is taken only if it is still free.
    auto placed = place_without_replacing(tmp, dest);
    if (!placed) return placed.error();
    if (!*placed) {
      return Error(ErrorCode::kInvalidInput,
                   dest.string() + " already exists; a backup never replaces a file");
    }
    remove_tmp.release();
    if (auto st = sync_directory(dir); !st.ok()) {
      spdlog::warn("backup: {}", st.message());
    }
    return info;
  } catch (const StorageError& e) {
    return Error(ErrorCode::kInternal, e.what());
  }
}

// --- Listings -------------------------------------------------------------------
// Prepared per call: listings are rare (an operator's request), and each
// combination of filters is its own statement.

Result<std::vector<StoreOverview>> SqliteStorage::store_summaries() {
  // Each store's newest report from report_stores (one index probe per
  // store), and the out-of-stock counts from the partial index of rows at 0
  // (named: left to itself the planner walks each store's whole key range,
  // the whole inventory per request).
  const char* sql =
      "SELECT rs.store, rs.report_id, r.finished_at, COALESCE(r.arrived_by, ''), "
      "  (SELECT COUNT(*) FROM inventory i INDEXED BY inventory_out_of_stock "
      "   WHERE i.store = rs.store AND i.count = 0) "
      "FROM (SELECT store, MAX(report_id) AS report_id FROM report_stores GROUP BY store) rs "
      "LEFT JOIN reports r ON r.id = rs.report_id ORDER BY rs.store";
  try {
    Statement s(impl_->db.get(), sql);
    return collect<StoreOverview>(s, [](const Statement& st) {
      return StoreOverview{st.text(0), st.i64(1), from_unix_ms(st.i64(2)), st.i64(4),
                           st.text(3)};
    });
  } catch (const StorageError& e) {
    return Error(ErrorCode::kInternal, e.what());
  }
}

Result<std::vector<std::string>> SqliteStorage::stores_of_report(std::int64_t report_id) {
  auto& s = impl_->stmt(impl_->report_stores_of);
  ResetGuard g(s);
  s.bind(1, report_id);
  return collect<std::string>(s, [](const Statement& st) { return st.text(0); });
}

namespace {

// The change feed's newest position: the newest change record's number.
Result<std::int64_t> newest_change(sqlite3* db) {
  Statement top(db, "SELECT COALESCE(max(seq), 0) FROM changes");
  auto row = top.step();
  if (!row) return row.error();
  return top.i64(0);
}

// Brings the item names (store/item_names.hpp) up to the newest change
// record: the first time every name of the inventory, then the names of the
// rows the change records since inserted (the change records of one report
// are numbered one after the other, and a later report's are higher: one
// writer at a time). Of the connections sharing the list, one reads.
Status refresh_item_names(SqliteStorage::Impl& impl) {
  sqlite3* db = impl.db.get();
  const auto position = newest_change(db);
  if (!position) return position.error();
  const auto text = [](const Statement& st) { return st.text(0); };
  return impl.item_names->bring_up_to(
      *position,
      [&]() -> Result<ItemNames::Names> {
        Statement all(db, "SELECT DISTINCT item FROM inventory");
        return collect<std::string>(all, text);
      },
      [&](std::int64_t from, std::int64_t to) -> Result<ItemNames::Names> {
        Statement added(db, "SELECT DISTINCT item FROM changes "
                            "WHERE seq > ?1 AND seq <= ?2 AND old_count IS NULL");
        added.bind(1, from).bind(2, to);
        return collect<std::string>(added, text);
      });
}

// The item names that hold `words` (InventoryQuery::item_contains), sorted.
Result<std::vector<std::string>> names_holding(SqliteStorage::Impl& impl, const std::string& words) {
  if (auto st = refresh_item_names(impl); !st.ok()) return st.error();
  return impl.item_names->holding(words);
}

// The search by item name (InventoryQuery::item_contains). The names that
// hold the words come from the connection's item names, sorted (one entry
// per distinct name, not per store); their rows are then found by walking the
// inventory's key (store, item) and the sorted names together: a row whose
// item is a name is listed, a run of rows before the next name is stepped
// over (up to kMaxSkippedRows, then the walk seeks to that name), and past
// the last name the walk seeks to the next store. So a search costs about
// one seek per store and name that has a row, however large the inventory,
// and no more than reading the stores' rows when most names match.
Result<std::vector<InventoryRow>> search_inventory(SqliteStorage::Impl& impl,
                                                   const InventoryQuery& q) {
  sqlite3* db = impl.db.get();
  auto found = names_holding(impl, *q.item_contains);
  if (!found) return found.error();
  const std::vector<std::string> names = std::move(*found);
  std::vector<InventoryRow> out;
  if (names.empty() || q.limit <= 0) return out;
  const std::string zero = q.out_of_stock_only ? " AND count = 0" : "";
  Statement scan(db, "SELECT store, item, count, updated_at, report_id FROM inventory "
                     "WHERE (store, item) >= (?1, ?2)" + zero + " ORDER BY store, item");
  Statement next_store(db, "SELECT store FROM inventory WHERE store > ?1" + zero +
                               " ORDER BY store LIMIT 1");
  // Where the walk seeks next: a store and a name.
  std::string store = q.store ? *q.store : std::string();
  std::string item = names.front();
  if (q.after) {
    store = q.after->first;
    item = q.after->second;
    if (q.store && store != *q.store) return out;
  }
  while (static_cast<int>(out.size()) < q.limit) {
    ResetGuard g(scan);
    scan.bind(1, store).bind(2, item);
    bool next = false;  // past the last name of `store`
    int skipped = 0;
    while (static_cast<int>(out.size()) < q.limit) {
      auto row = scan.step();
      if (!row) return row.error();
      if (!*row) return out;  // past the inventory's last row
      const std::string_view s = scan.text_view(0);
      const std::string_view t = scan.text_view(1);
      if (q.store && s != *q.store) return out;
      if (q.after && s == q.after->first && t == q.after->second) continue;
      const auto name = std::lower_bound(names.begin(), names.end(), t,
                                         [](const std::string& a, std::string_view b) { return a < b; });
      if (name == names.end()) {
        store.assign(s);
        next = true;
        break;
      }
      if (*name == t) {
        out.push_back(InventoryRow{std::string(s), std::string(t), scan.i64(2),
                                   from_unix_ms(scan.i64(3)), scan.i64(4)});
        skipped = 0;
      } else if (++skipped > kMaxSkippedRows) {
        store.assign(s);
        item = *name;
        break;
      }
    }
    if (static_cast<int>(out.size()) >= q.limit) break;
    if (next) {
      if (q.store) return out;
      ResetGuard n(next_store);
      next_store.bind(1, store);
      auto row = next_store.step();
      if (!row) return row.error();
      if (!*row) return out;
      store = next_store.text(0);
      item = names.front();
    }
  }
  return out;
}

// The item names inventory_by_item takes from the shared list at a time.
constexpr std::size_t kItemNamesPiece = 256;

// Every store and item by item, then store, without an index of the
// inventory by item: the item names in order (the connection's, or the
// names a search found), and for each name its row in every store, by key. A page
// costs one probe per store for each name it lists, so a page of items
// that most stores have is about as many probes as rows.
Result<std::vector<InventoryRow>> inventory_by_item(SqliteStorage::Impl& impl,
                                                    const InventoryQuery& q) {
  sqlite3* db = impl.db.get();
  std::vector<InventoryRow> out;
  if (q.limit <= 0) return out;
  std::vector<std::string> stores;
  {
    Statement first(db, "SELECT min(store) FROM inventory");
    Statement next(db, "SELECT store FROM inventory WHERE store > ?1 ORDER BY store LIMIT 1");
    auto row = first.step();
    if (!row) return row.error();
    if (first.is_null(0)) return out;
    stores.push_back(first.text(0));
    while (true) {
      ResetGuard g(next);
      next.bind(1, stores.back());
      row = next.step();
      if (!row) return row.error();
      if (!*row) break;
      stores.push_back(next.text(0));
    }
  }
  std::vector<std::string> matched;
  if (q.item_contains) {
    auto found = names_holding(impl, *q.item_contains);
    if (!found) return found.error();
    matched = std::move(*found);
  } else if (auto st = refresh_item_names(impl); !st.ok()) {
    return st.error();
  }
  const std::string from = q.after ? q.after->second : std::string();
  Statement probe(db, "SELECT count, updated_at, report_id FROM inventory "
                      "WHERE store = ?1 AND item = ?2");
  // The names in order from `from`: the search's, or the shared list's a
  // piece at a time (a page seldom needs more than its rows' names).
  std::vector<std::string> piece;
  std::size_t at = 0;
  if (q.item_contains) {
    piece = std::move(matched);
    at = static_cast<std::size_t>(std::lower_bound(piece.begin(), piece.end(), from) - piece.begin());
  } else {
    piece = impl.item_names->from(from, kItemNamesPiece);
  }
  while (at < piece.size()) {
    const std::string item = piece[at];
    auto store = stores.begin();
    if (q.after && item == q.after->second) {
      store = std::upper_bound(stores.begin(), stores.end(), q.after->first);
    }
    for (; store != stores.end(); ++store) {
      ResetGuard g(probe);
      probe.bind(1, *store).bind(2, item);
      auto row = probe.step();
      if (!row) return row.error();
      if (!*row) continue;
      out.push_back(InventoryRow{*store, item, probe.i64(0), from_unix_ms(probe.i64(1)),
                                 probe.i64(2)});
      if (static_cast<int>(out.size()) >= q.limit) return out;
    }
    if (++at == piece.size() && !q.item_contains && piece.size() == kItemNamesPiece) {
      // The next piece: the names after this one's last.
      piece = impl.item_names->from(item + '\0', kItemNamesPiece);
      at = 0;
    }
  }
  return out;
}

// Brings the inventory sorted in memory (store/sorted_inventory.hpp) up to
// the newest change record, as the item names are: the first time every
// row in key order, then the current rows of the pairs the change records
// since then name. False when it keeps nothing.
Result<bool> refresh_sorted_inventory(SqliteStorage::Impl& impl, SortedInventory::Reader reader) {
  sqlite3* db = impl.db.get();
  const auto position = newest_change(db);
  if (!position) return position.error();
  const auto read = [](Statement& s, const SortedInventory::Sink& sink) -> Status {
    for (;;) {
      auto more = s.step();
      if (!more) return more.error();
      if (!*more) return {};
      if (!sink({s.text_view(0), s.text_view(1), s.i64(2), s.i64(3), s.i64(4)})) return {};
    }
  };
  return impl.sorted_inventory->bring_up_to(
      *position,
      [&](const SortedInventory::Sink& sink) {
        Statement all(db, "SELECT store, item, count, updated_at, report_id FROM inventory "
                          "ORDER BY store, item");
        return read(all, sink);
      },
      [&](std::int64_t from, std::int64_t to, const SortedInventory::Sink& sink) {
        Statement since(db, "SELECT i.store, i.item, i.count, i.updated_at, i.report_id "
                            "FROM (SELECT DISTINCT store, item FROM changes "
                            "      WHERE seq > ?1 AND seq <= ?2) c "
                            "JOIN inventory i ON i.store = c.store AND i.item = c.item");
        since.bind(1, from).bind(2, to);
        return read(since, sink);
      },
      reader);
}

}  // namespace

Result<std::vector<InventoryRow>> SqliteStorage::list_inventory(const InventoryQuery& q) {
  try {
    // Sorted by count or by the last change: from memory, when it is kept.
    if ((q.order == InventoryOrder::kCount || q.order == InventoryOrder::kChanged) &&
        impl_->sorted_inventory) {
      auto kept = refresh_sorted_inventory(*impl_, SortedInventory::Reader::kPage);
      if (!kept) return kept.error();
      if (*kept) return impl_->sorted_inventory->page(q);
    }
    // A search in key order, and every store by item: through the item names.
    if (q.item_contains && q.order == InventoryOrder::kStoreItem) {
      return search_inventory(*impl_, q);
    }
    if (q.order == InventoryOrder::kItem && !q.store && !q.out_of_stock_only) {
      return inventory_by_item(*impl_, q);
    }
  } catch (const StorageError& e) {
    return Error(ErrorCode::kInternal, e.what());
  }
  // The rest reads one store's rows (the key's range), the rows at 0 (the
  // partial index inventory_out_of_stock), or, sorted by count or by the
  // last change over every store, every row (there is no index of either:
  // one would cost every load).
  std::string sql = "SELECT store, item, count, updated_at, report_id FROM inventory WHERE 1";
  if (q.store) sql += " AND store = ?1";
  if (q.out_of_stock_only) sql += " AND count = 0";
  // lower() folds ASCII letters only (SQLite without ICU), as the contract says.
  if (q.item_contains) sql += " AND instr(lower(item), ?5) > 0";
  if (q.after) {
    switch (q.order) {
      case InventoryOrder::kStoreItem: sql += " AND (store, item) > (?2, ?3)"; break;
      case InventoryOrder::kItem: sql += " AND (item, store) > (?3, ?2)"; break;
      case InventoryOrder::kCount: sql += " AND (count, store, item) > (?6, ?2, ?3)"; break;
      case InventoryOrder::kChanged:
        sql += " AND (updated_at < ?6 OR (updated_at = ?6 AND (store, item) > (?2, ?3)))";
        break;
    }
  }
  switch (q.order) {
    case InventoryOrder::kStoreItem: sql += " ORDER BY store, item"; break;
    case InventoryOrder::kItem: sql += " ORDER BY item, store"; break;
    case InventoryOrder::kCount: sql += " ORDER BY count, store, item"; break;
    case InventoryOrder::kChanged: sql += " ORDER BY updated_at DESC, store, item"; break;
  }
  sql += " LIMIT ?4";
  try {
    Statement s(impl_->db.get(), sql.c_str());
    if (q.store) s.bind(1, *q.store);
    if (q.after) s.bind(2, q.after->first).bind(3, q.after->second);
    s.bind(4, q.limit);
    const std::string needle = q.item_contains ? ascii_lower(*q.item_contains) : std::string();
    if (q.item_contains) s.bind(5, needle);
    if (q.after && (q.order == InventoryOrder::kCount || q.order == InventoryOrder::kChanged)) {
      s.bind(6, q.after_value);
    }
    return collect<InventoryRow>(s, [](const Statement& st) {
      return InventoryRow{st.text(0), st.text(1), st.i64(2), from_unix_ms(st.i64(3)), st.i64(4)};
    });
  } catch (const StorageError& e) {
    return Error(ErrorCode::kInternal, e.what());
  }
}

Status SqliteStorage::keep_sorted_inventory() {
  if (!impl_->sorted_inventory) return {};
  try {
    auto kept = refresh_sorted_inventory(*impl_, SortedInventory::Reader::kKeeper);
    if (!kept) return kept.error();
    return {};
  } catch (const StorageError& e) {
    return Error(ErrorCode::kInternal, e.what());
  }
}

// The primary key (store, item) keeps a store's rows together: one pass
// over the inventory's key order, without a sort.
Result<bool> SqliteStorage::claim_inbox_file(std::string_view name, std::string_view claimant,
                                             TimePoint now, Duration lease) {
  try {
    Statement s(impl_->db.get(),
                "INSERT INTO inbox_claims(name, claimed_by, expires_at) VALUES (?1, ?2, ?3) "
                "ON CONFLICT (name) DO UPDATE SET claimed_by = excluded.claimed_by, "
                "expires_at = excluded.expires_at "
                "WHERE inbox_claims.expires_at <= ?4 OR inbox_claims.claimed_by = ?2 "
                "RETURNING 1");
    s.bind(1, name).bind(2, claimant)
        .bind(3, static_cast<std::int64_t>(to_unix_ms(now + lease)))
        .bind(4, static_cast<std::int64_t>(to_unix_ms(now)));
    auto row = s.step();
    if (!row) return row.error();
    const bool held = *row;
    s.reset();
    return held;
  } catch (const StorageError& e) {
    return Error(ErrorCode::kInternal, e.what());
  }
}

Status SqliteStorage::release_inbox_file(std::string_view name, std::string_view claimant) {
  try {
    Statement s(impl_->db.get(), "DELETE FROM inbox_claims WHERE name = ?1 AND claimed_by = ?2");
    return s.bind(1, name).bind(2, claimant).run();
  } catch (const StorageError& e) {
    return Error(ErrorCode::kInternal, e.what());
  }
}

Result<std::vector<StoreSummary>> SqliteStorage::list_stores(int limit) {
  try {
    Statement s(impl_->db.get(),
                "SELECT store, count(*), sum(count = 0) FROM inventory GROUP BY store "
                "ORDER BY store LIMIT ?1");
    s.bind(1, limit);
    return collect<StoreSummary>(s, [](const Statement& st) {
      return StoreSummary{st.text(0), st.i64(1), st.i64(2)};
    });
  } catch (const StorageError& e) {
    return Error(ErrorCode::kInternal, e.what());
  }
}

Result<std::vector<StoreReport>> SqliteStorage::store_reports(int limit) {
  // report_stores has a row for every store of every loaded report, whether
  // its counts changed or not.
  try {
    Statement s(impl_->db.get(),
                "SELECT rs.store, MAX(r.id), MAX(r.received_at) FROM report_stores rs "
                "JOIN reports r ON r.id = rs.report_id WHERE r.status = 'loaded' "
                "GROUP BY rs.store ORDER BY rs.store LIMIT ?1");
    s.bind(1, limit);
    return collect<StoreReport>(s, [](const Statement& st) {
      return StoreReport{st.text(0), st.i64(1), from_unix_ms(st.i64(2))};
    });
  } catch (const StorageError& e) {
    return Error(ErrorCode::kInternal, e.what());
  }
}

Result<std::vector<CountChange>> SqliteStorage::largest_changes(
    TimePoint after, TimePoint until, const std::vector<std::string>& stores, int limit) {
  // A report's records are the seq range first_seq..last_seq: read by the
  // primary key, report by report, for the reports of the window only.
  std::string sql =
      "SELECT c.store, c.item, c.old_count, c.new_count, c.report_id FROM reports r "
      "JOIN changes c ON c.seq BETWEEN r.first_seq AND r.last_seq "
      "WHERE r.status = 'loaded' AND r.last_seq > 0 AND r.received_at > ?1 AND r.received_at <= ?2";
  if (!stores.empty()) {
    sql += " AND c.store IN (";
    for (std::size_t i = 0; i < stores.size(); ++i) {
      sql += (i ? ", ?" : "?") + std::to_string(i + 4);
    }
    sql += ")";
  }
  sql += " ORDER BY abs(c.new_count - coalesce(c.old_count, 0)) DESC, c.seq LIMIT ?3";
  try {
    Statement s(impl_->db.get(), sql.c_str());
    s.bind(1, to_unix_ms(after)).bind(2, to_unix_ms(until)).bind(3, limit);
    for (std::size_t i = 0; i < stores.size(); ++i) s.bind(static_cast<int>(i + 4), stores[i]);
    return collect<CountChange>(s, [](const Statement& st) {
      return CountChange{st.text(0), st.text(1), st.opt_i64(2), st.i64(3), st.i64(4)};
    });
  } catch (const StorageError& e) {
    return Error(ErrorCode::kInternal, e.what());
  }
}

namespace {
// Rows of `from` with id < before_id (0 = from the newest), newest first,
// where `column` = `value` when a value is given.
template <typename T, typename Read>
Result<std::vector<T>> newest_first(sqlite3* db, const char* select_from, const char* column,
                                    const char* value, std::int64_t before_id, int limit,
                                    Read read) {
  std::string sql = std::string(select_from) + " WHERE 1";
  if (before_id > 0) sql += " AND id < ?1";
  if (value) sql += std::string(" AND ") + column + " = ?2";
  sql += " ORDER BY id DESC LIMIT ?3";
  try {
    Statement s(db, sql.c_str());
    if (before_id > 0) s.bind(1, before_id);
    if (value) s.bind(2, value);
    s.bind(3, limit);
    return collect<T>(s, read);
  } catch (const StorageError& e) {
    return Error(ErrorCode::kInternal, e.what());
  }
}
}  // namespace

Result<std::vector<ReportRecord>> SqliteStorage::reports_page(std::int64_t before_id,
                                                        std::optional<ReportStatus> status,
                                                        int limit) {
  return newest_first<ReportRecord>(impl_->db.get(), "SELECT " SW_REPORT_COLUMNS " FROM reports",
                                    "status", status ? to_string(*status) : nullptr, before_id,
                                    limit, read_report);
}

Result<std::vector<OutboxMessage>> SqliteStorage::outbox_page(std::int64_t before_id,
                                                        std::optional<OutboxState> state,
                                                        int limit) {
  return newest_first<OutboxMessage>(impl_->db.get(), "SELECT " SW_OUTBOX_LIST_COLUMNS " FROM outbox",
                                     "state", state ? to_string(*state) : nullptr, before_id,
                                     limit, read_outbox);
}

// --- Minimum levels and mutes ------------------------------------------------------

Status SqliteReportWriter::replace_levels(std::span<const LevelLine> lines) {
  if (!impl_) return Error(ErrorCode::kInternal, "report load already finished");
  auto& impl = *impl_;
  if (auto st = impl.exec("DELETE FROM levels"); !st.ok()) return st;
  try {
    Statement ins(impl.db.get(), "INSERT INTO levels(store, item, minimum) VALUES (?1, ?2, ?3)");
    for (const auto& l : lines) {
      ins.bind(1, l.store).bind(2, l.item).bind(3, l.minimum);
      if (auto st = ins.run(); !st.ok()) return st;
    }
    Statement mark(impl.db.get(), "UPDATE levels_state SET report_id = ?1 WHERE id = 1");
    mark.bind(1, report_id_);
    if (auto st = mark.run(); !st.ok()) return st;
    rows_ += static_cast<std::int64_t>(lines.size());
    return {};
  } catch (const StorageError& e) {
    return Error(ErrorCode::kInternal, e.what());
  }
}

Result<std::int64_t> SqliteStorage::levels_version() {
  auto& s = impl_->stmt(impl_->levels_version_get);
  ResetGuard g(s);
  auto r = s.step();
  if (!r) return r.error();
  return *r ? s.i64(0) : 0;
}

Result<std::vector<LevelLine>> SqliteStorage::levels() {
  try {
    Statement s(impl_->db.get(), "SELECT store, item, minimum FROM levels ORDER BY store, item");
    return collect<LevelLine>(s, [](const Statement& st) {
      return LevelLine{st.text(0), st.text(1), st.i64(2)};
    });
  } catch (const StorageError& e) {
    return Error(ErrorCode::kInternal, e.what());
  }
}

Status SqliteStorage::add_mute(const Mute& m) {
  try {
    Statement s(impl_->db.get(),
                "INSERT INTO mutes(store, item, until_at, until_change, created_at) "
                "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(store, item) DO UPDATE SET "
                "until_at = excluded.until_at, until_change = excluded.until_change, "
                "created_at = excluded.created_at");
    s.bind(1, m.store).bind(2, m.item);
    if (m.until) s.bind(3, static_cast<std::int64_t>(to_unix_ms(*m.until)));
    else s.bind_null(3);
    s.bind(4, m.until_change ? 1 : 0).bind(5, static_cast<std::int64_t>(to_unix_ms(m.created_at)));
    return s.run();
  } catch (const StorageError& e) {
    return Error(ErrorCode::kInternal, e.what());
  }
}

Result<std::int64_t> SqliteStorage::remove_mutes(std::string_view store,
                                                 std::optional<std::string_view> item) {
  try {
    Statement s(impl_->db.get(), item ? "DELETE FROM mutes WHERE store = ?1 AND item = ?2"
                                      : "DELETE FROM mutes WHERE store = ?1");
    s.bind(1, store);
    if (item) s.bind(2, *item);
    if (auto st = s.run(); !st.ok()) return st.error();
    return static_cast<std::int64_t>(sqlite3_changes(impl_->db.get()));
  } catch (const StorageError& e) {
    return Error(ErrorCode::kInternal, e.what());
  }
}

Result<std::vector<Mute>> SqliteStorage::mutes() {
  auto& s = impl_->stmt(impl_->mutes_all);
  ResetGuard g(s);
  return collect<Mute>(s, [](const Statement& st) {
    Mute m;
    m.store = st.text(0);
    m.item = st.text(1);
    if (!st.is_null(2)) m.until = from_unix_ms(st.i64(2));
    m.until_change = st.i64(3) != 0;
    m.created_at = from_unix_ms(st.i64(4));
    return m;
  });
}

// --- Use rates (pipeline/usage.hpp) -------------------------------------------------
// The forecast stage's statements run once per report: prepared with the
// connection. The console's and the API's reads are prepared per call.

namespace {

// A report's change records: seq from the report's first to its last.
#define SW_REPORT_CHANGES \
  "FROM changes WHERE seq BETWEEN (SELECT first_seq FROM reports WHERE id = ?2) AND ?3 "

// The columns read_usage() expects.
#define SW_USAGE_COLUMNS                                                             \
  "u.store, u.item, i.count, u.first_day, u.last_day, u.last_count, u.used, "        \
  "u.used_days, s.last_day, s.prev_day"
#define SW_USAGE_FROM                                                                \
  "FROM usage u JOIN inventory i ON i.store = u.store AND i.item = u.item "          \
  "LEFT JOIN usage_stores s ON s.store = u.store "

// The figures of first sightings kept in their inventory rows (i), once
// the take-in has passed their report (f) and while the item has no row in
// usage: first and last day the report's, no use yet. The same columns as
// SW_USAGE_COLUMNS.
#define SW_FIRST_DAY "COALESCE(f.report_day, f.received_at / 86400000)"
#define SW_FIRST_SIGHTING_COLUMNS                                                      \
  "i.store, i.item, i.count, " SW_FIRST_DAY ", " SW_FIRST_DAY ", i.first_count, 0, 0, " \
  "s.last_day, s.prev_day"
#define SW_FIRST_SIGHTING_FROM                                                         \
  "FROM inventory i JOIN reports f ON f.id = i.first_report "                          \
  "LEFT JOIN usage_stores s ON s.store = i.store "
#define SW_FIRST_SIGHTING_SHOWN                                                        \
  "f.last_seq <= (SELECT position FROM cursors WHERE name = 'usage') "                 \
  "AND NOT EXISTS (SELECT 1 FROM usage u WHERE u.store = i.store AND u.item = i.item) "

UsageRow read_usage(const Statement& s) {
  UsageRow r;
  r.store = s.text(0);
  r.item = s.text(1);
  r.count = s.i64(2);
  r.figures = {s.i64(3), s.i64(4), s.i64(5), s.i64(6), s.i64(7)};
  r.as_of_day = s.is_null(8) ? r.figures.last_day : std::max(s.i64(8), r.figures.last_day);
  if (!s.is_null(9) && !s.is_null(8)) r.gap_days = s.i64(8) - s.i64(9);
  return r;
}

template <typename T, typename Read>
Result<std::vector<T>> collect_sql(sqlite3* db, const char* sql, const std::function<void(Statement&)>& bind,
                                   Read read) {
  try {
    Statement s(db, sql);
    bind(s);
    return collect<T>(s, read);
  } catch (const StorageError& e) {
    return Error(ErrorCode::kInternal, e.what());
  }
}

// The report of the first change record after the cursor: one probe of
// the change log's key, however long the ledger.
constexpr const char* kUsageNext =
    "SELECT id, COALESCE(report_day, received_at / 86400000), path, finished_at, last_seq, "
    "  last_seq > (SELECT position FROM cursors WHERE name = 'usage_alerts_from'), "
    "  last_seq - first_seq + 1 "
    "FROM reports WHERE id = (SELECT report_id FROM changes "
    "  WHERE seq > (SELECT position FROM cursors WHERE name = 'usage') ORDER BY seq LIMIT 1) "
    "AND status = 'loaded'";

// A change record of report ?2 that inserted its item, in a report loaded
// with first sightings (schema step 14; every record without an old count
// is one then): its figures stay in the item's inventory row.
#define SW_FIRST_SIGHTING \
  "(old_count IS NULL AND (SELECT first_sightings FROM reports WHERE id = ?2) <> 0) "

// The first sightings of the items report ?2 changes again, while they have
// no row in usage: the inventory row's report and count, and that report's
// day. The columns: store, item, day, first count, first report.
#define SW_FIRST_SIGHTINGS_WRITTEN_OUT                                                   \
  "SELECT i.store AS store, i.item AS item, "                                             \
  "COALESCE(f.report_day, f.received_at / 86400000) AS day, "                            \
  "i.first_count AS first_count, i.first_report AS first_report "                        \
  "FROM changes c JOIN inventory i ON i.store = c.store AND i.item = c.item "            \
  "JOIN reports f ON f.id = i.first_report "                                             \
  "WHERE c.seq BETWEEN (SELECT first_seq FROM reports WHERE id = ?2) AND ?3 "            \
  "AND c.old_count IS NOT NULL AND i.first_report <> ?2 AND ?1 IS NOT NULL "             \
  "AND NOT EXISTS (SELECT 1 FROM usage u WHERE u.store = c.store AND u.item = c.item) "  \
  "ORDER BY 1, 2 "

// ?1 the day, ?2 the report, ?3 its last change. The change records are
// taken in key order, whatever order the report's rows came in: written in
// that order, the two tables grow at their ends and each page is written
// once, where rows in random order would rewrite pages all over them.
// A change that inserted its item (a first sighting) writes nothing: its
// figures and history point are its inventory row's. The first change
// after it writes them out (the first two steps: the point, then the
// figures, observe()'s first ones; a point of an older report of the same
// day, history only, stays), then goes on as every other change does.
constexpr const char* kUsageSteps[] = {
      "INSERT INTO usage_points(store, item, day, count, report_id) "
      SW_FIRST_SIGHTINGS_WRITTEN_OUT "ON CONFLICT(store, item, day) DO NOTHING",
      "INSERT INTO usage(store, item, first_day, last_day, last_count, used, used_days) "
      "SELECT store, item, day, day, first_count, 0, 0 FROM (" SW_FIRST_SIGHTINGS_WRITTEN_OUT
      ") WHERE true "
      "ON CONFLICT(store, item) DO NOTHING",
      "INSERT INTO usage_points(store, item, day, count, report_id) "
      "SELECT store, item, ?1, new_count, ?2 " SW_REPORT_CHANGES "AND NOT " SW_FIRST_SIGHTING
      "ORDER BY store, item "
      "ON CONFLICT(store, item, day) DO UPDATE SET count = excluded.count, "
      "report_id = excluded.report_id",
      // observe(): an older day changes nothing; the same day corrects the
      // count; a later day with a count that fell (and is not 0) adds use.
      "INSERT INTO usage(store, item, first_day, last_day, last_count, used, used_days) "
      "SELECT store, item, ?1, ?1, new_count, 0, 0 " SW_REPORT_CHANGES "AND NOT " SW_FIRST_SIGHTING
      "ORDER BY store, item "
      "ON CONFLICT(store, item) DO UPDATE SET "
      "used = usage.used + CASE WHEN excluded.last_day > usage.last_day "
      "  AND excluded.last_count > 0 AND excluded.last_count <= usage.last_count "
      "  THEN usage.last_count - excluded.last_count ELSE 0 END, "
      "used_days = usage.used_days + CASE WHEN excluded.last_day > usage.last_day "
      "  AND excluded.last_count > 0 AND excluded.last_count <= usage.last_count "
      "  THEN excluded.last_day - usage.last_day ELSE 0 END, "
      "last_day = excluded.last_day, last_count = excluded.last_count "
      "WHERE excluded.last_day >= usage.last_day",
      "INSERT INTO usage_stores(store, last_day, prev_day) "
      "SELECT DISTINCT store, ?1, NULL " SW_REPORT_CHANGES
      "ON CONFLICT(store) DO UPDATE SET prev_day = usage_stores.last_day, "
      "last_day = excluded.last_day WHERE excluded.last_day > usage_stores.last_day",
};

// The last step for a large report each of whose rows changed a count
// (its ledger's rows = its changes = its change records, which a levels
// file, with no rows of stores, never has): the stores of its change
// records are the stores of its rows, which report_stores holds. Its key
// is (store, report_id), so the stores are walked one seek each (every
// store ever reported) and each asked for this report. ?3, the report's
// last change, is named only because every step is given it.
constexpr const char* kUsageStoresOfReport =
    "WITH RECURSIVE s(store) AS ("
    "  SELECT min(store) FROM report_stores "
    "  UNION ALL SELECT (SELECT min(store) FROM report_stores r WHERE r.store > s.store) "
    "  FROM s WHERE s.store IS NOT NULL) "
    "INSERT INTO usage_stores(store, last_day, prev_day) "
    "SELECT store, ?1, NULL FROM s WHERE store IS NOT NULL AND ?3 IS NOT NULL AND EXISTS ("
    "  SELECT 1 FROM report_stores r WHERE r.store = s.store AND r.report_id = ?2) "
    "ON CONFLICT(store) DO UPDATE SET prev_day = usage_stores.last_day, "
    "last_day = excluded.last_day WHERE excluded.last_day > usage_stores.last_day";

// Whether any item of report ?1 can have a use: only in a store with two
// report days (usage_stores.prev_day), since use is a fall between two
// days. A report without stores of its own (a levels file) asks every store.
// For a large report: its stores are few, the change records many.
constexpr const char* kUsageAnyUse =
    "SELECT EXISTS (SELECT 1 FROM usage_stores s WHERE s.prev_day IS NOT NULL AND ("
    "  EXISTS (SELECT 1 FROM report_stores rs WHERE rs.store = s.store AND rs.report_id = ?1) "
    "  OR NOT EXISTS (SELECT 1 FROM usage_stores s2 JOIN report_stores rs2 "
    "    ON rs2.store = s2.store AND rs2.report_id = ?1)))";

// The same for a small report (?2 its last change), from its own change
// records: one probe of usage_stores per record, however many stores there
// are. Only the changed items can be running out, and only in their stores.
constexpr const char* kUsageAnyUseOfChanges =
    "SELECT EXISTS (SELECT 1 FROM changes c JOIN usage_stores s ON s.store = c.store "
    "WHERE c.seq BETWEEN (SELECT first_seq FROM reports WHERE id = ?1) AND ?2 "
    "AND s.prev_day IS NOT NULL)";
// Change records up to which a report counts as small above.
constexpr std::int64_t kSmallReportChanges = 256;
// Change records from which the stores of a report each of whose rows
// changed a count are read from report_stores (kUsageStoresOfReport, one
// seek per store ever reported) instead of from its change records: past
// the number of stores a chain has.
constexpr std::int64_t kLargeReportChanges = 10000;

// The report's changed items in key order (a shuffled report's would probe
// both tables all over), those with a use.
constexpr const char* kUsageRunningOut =
    "WITH c AS MATERIALIZED (SELECT store, item " SW_REPORT_CHANGES "ORDER BY store, item) "
    "SELECT " SW_USAGE_COLUMNS " FROM c "
    "JOIN usage u ON u.store = c.store AND u.item = c.item "
    "JOIN inventory i ON i.store = u.store AND i.item = u.item "
    "LEFT JOIN usage_stores s ON s.store = u.store "
    "WHERE u.last_day = ?1 AND u.last_count > 0 AND u.used > 0 AND u.used_days > 0 "
    "AND u.last_count * u.used_days <= ?4 * u.used "
    "ORDER BY CAST(u.last_count AS REAL) * u.used_days / u.used, u.store, u.item LIMIT ?5";

// The latest day of the loaded reports with rows of store ?1.
constexpr const char* kLatestDay =
    "SELECT MAX(COALESCE(r.report_day, r.received_at / 86400000)) FROM report_stores rs "
    "JOIN reports r ON r.id = rs.report_id WHERE rs.store = ?1 AND r.status = 'loaded'";

// A row of an older report: a history point only.
constexpr const char* kHistoryInsert =
    "INSERT INTO usage_points(store, item, day, count, report_id) VALUES (?1, ?2, ?3, ?4, ?5) "
    "ON CONFLICT(store, item, day) DO UPDATE SET count = excluded.count, "
    "report_id = excluded.report_id";

}  // namespace

void SqliteStorage::Impl::prepare_usage_statements() {
  usage_next.emplace(db.get(), kUsageNext);
  for (std::size_t k = 0; k < std::size(kUsageSteps); ++k) usage_steps[k].emplace(db.get(), kUsageSteps[k]);
  usage_running_out.emplace(db.get(), kUsageRunningOut);
  usage_any_use.emplace(db.get(), kUsageAnyUse);
  usage_any_use_of_changes.emplace(db.get(), kUsageAnyUseOfChanges);
  usage_all_first.emplace(db.get(), "SELECT first_sightings > 0 AND first_sightings = "
                                    "last_seq - first_seq + 1, last_seq - first_seq + 1, "
                                    "rows > 0 AND last_seq > 0 AND rows = changes "
                                    "AND changes = last_seq - first_seq + 1 "
                                    "FROM reports WHERE id = ?1");
  usage_stores_of_report.emplace(db.get(), kUsageStoresOfReport);
  latest_day.emplace(db.get(), kLatestDay);
  history_insert.emplace(db.get(), kHistoryInsert);
  usage_one.emplace(db.get(), "SELECT " SW_USAGE_COLUMNS " " SW_USAGE_FROM
                              "WHERE u.store = ?1 AND u.item = ?2 "
                              "UNION ALL SELECT " SW_FIRST_SIGHTING_COLUMNS " "
                              SW_FIRST_SIGHTING_FROM "WHERE i.store = ?1 AND i.item = ?2 AND "
                              SW_FIRST_SIGHTING_SHOWN);
  usage_item.emplace(db.get(), "SELECT " SW_USAGE_COLUMNS " " SW_USAGE_FROM
                               "WHERE u.store IN (SELECT store FROM usage_stores) AND u.item = ?1 "
                               "UNION ALL SELECT " SW_FIRST_SIGHTING_COLUMNS " "
                               SW_FIRST_SIGHTING_FROM
                               "WHERE i.store IN (SELECT store FROM usage_stores) AND i.item = ?1 "
                               "AND " SW_FIRST_SIGHTING_SHOWN "ORDER BY 1");
  history_of.emplace(db.get(),
                     "SELECT day, count, report_id FROM usage_points WHERE store = ?1 AND item = ?2 "
                     "UNION ALL SELECT " SW_FIRST_DAY ", i.first_count, i.first_report "
                     SW_FIRST_SIGHTING_FROM "WHERE i.store = ?1 AND i.item = ?2 AND "
                     SW_FIRST_SIGHTING_SHOWN
                     "AND NOT EXISTS (SELECT 1 FROM usage_points p WHERE p.store = i.store "
                     "AND p.item = i.item AND p.day = " SW_FIRST_DAY ") "
                     "ORDER BY 1 DESC LIMIT ?3");
}

Result<std::optional<std::int64_t>> SqliteReportWriter::latest_day_of(std::string_view store) {
  if (!impl_) return Error(ErrorCode::kInternal, "report load already finished");
  auto& s = impl_->stmt(impl_->latest_day);
  ResetGuard g(s);
  s.bind(1, store);
  auto row = s.step();
  if (!row) return row.error();
  if (!*row || s.is_null(0)) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(s.i64(0));
}

Status SqliteReportWriter::log_history(std::string_view store, std::string_view item,
                                       std::int64_t count, std::int64_t day) {
  if (!impl_) return Error(ErrorCode::kInternal, "report load already finished");
  ++rows_;
  return impl_->stmt(impl_->history_insert)
      .bind(1, store)
      .bind(2, item)
      .bind(3, day)
      .bind(4, count)
      .bind(5, report_id_)
      .run();
}

Result<std::optional<UsageReport>> SqliteStorage::next_usage_report() {
  auto& s = impl_->stmt(impl_->usage_next);
  ResetGuard g(s);
  auto rows = collect<UsageReport>(s, [](const Statement& st) {
    return UsageReport{st.i64(0), st.i64(1), st.text(2), from_unix_ms(st.i64(3)), st.i64(4),
                       st.i64(5) != 0, st.i64(6)};
  });
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<UsageReport>();
  return std::optional<UsageReport>(std::move(rows->front()));
}

// The take-in's writes (Storage::apply_usage), in the caller's transaction.
Status SqliteStorage::Impl::apply_usage_steps(const UsageReport& r, UsageChanges* seen) {
  // A report whose every change record is a first sighting (a first load)
  // has nothing to write but its stores' report days (the last step).
  UsageChanges changes;
  {
    auto& q = stmt(usage_all_first);
    ResetGuard g(q);
    q.bind(1, r.report_id);
    auto row = q.step();
    if (!row) return row.error();
    if (*row) {
      changes.all_first = q.i64(0) != 0;
      if (!q.is_null(1)) changes.records = q.i64(1);
      changes.every_row = !q.is_null(2) && q.i64(2) != 0;
    }
  }
  for (auto& slot : usage_steps) {
    const bool last = &slot == &usage_steps[std::size(usage_steps) - 1];
    if (changes.all_first && !last) continue;
    // When every row of a large report changed a count (a first load,
    // among others), the stores of its change records are the stores of
    // its rows, which report_stores holds: a few index seeks instead of
    // reading every change record (a quarter of a second for a million).
    const bool by_rows = last && changes.every_row && changes.records > kLargeReportChanges;
    auto& s = stmt(by_rows ? usage_stores_of_report : slot);
    s.bind(1, r.day).bind(2, r.report_id).bind(3, r.last_seq);
    if (auto st = s.run(); !st.ok()) return st;
  }
  if (seen) *seen = changes;
  return {};
}

Status SqliteStorage::apply_usage(const UsageReport& r) {
  Txn txn(*impl_);
  if (auto st = txn.begin(); !st.ok()) return st;
  if (auto st = impl_->apply_usage_steps(r); !st.ok()) return st;
  return txn.commit();
}

Result<std::vector<UsageRow>> SqliteStorage::running_out_of_report(const UsageReport& r,
                                                                   std::int64_t horizon_days,
                                                                   int limit) {
  auto& s = impl_->stmt(impl_->usage_running_out);
  ResetGuard g(s);
  s.bind(1, r.day).bind(2, r.report_id).bind(3, r.last_seq).bind(4, horizon_days).bind(5, limit);
  return collect<UsageRow>(s, read_usage);
}

Status SqliteStorage::commit_usage(const UsageReport& r,
                                   const std::vector<OutboxMessage>& messages) {
  Txn txn(*impl_);
  if (auto st = txn.begin(); !st.ok()) return st;
  if (auto st = impl_->queue(messages); !st.ok()) return st;
  if (auto st = impl_->set_cursor("usage", r.last_seq); !st.ok()) return st;
  return txn.commit();
}

// The take-in after its writes (Storage::take_in_usage), in the caller's
// transaction: the running_out rows judged, their messages, the cursor.
Status SqliteStorage::Impl::take_in_steps(const UsageReport& r, std::int64_t horizon_days,
                                          int limit, const UsageJudge& judge) {
  UsageChanges changes;
  if (auto st = apply_usage_steps(r, &changes); !st.ok()) return st;
  std::vector<OutboxMessage> messages;
  if (judge) {
    std::vector<UsageRow> rows;
    // Items seen for the first time have no use: a report of first
    // sightings only has nothing to read. Otherwise the report's stores
    // are asked, from its change records when it has few.
    bool probe = false;
    if (!changes.all_first) {
      const bool small = changes.records > 0 && changes.records <= kSmallReportChanges;
      auto& any = stmt(small ? usage_any_use_of_changes : usage_any_use);
      ResetGuard g(any);
      any.bind(1, r.report_id);
      if (small) any.bind(2, r.last_seq);
      auto found = any.step();
      if (!found) return found.error();
      probe = *found && any.i64(0) != 0;
    }
    if (probe) {
      auto& s = stmt(usage_running_out);
      ResetGuard g(s);
      s.bind(1, r.day).bind(2, r.report_id).bind(3, r.last_seq).bind(4, horizon_days).bind(5, limit);
      auto read = collect<UsageRow>(s, read_usage);
      if (!read) return read.error();
      rows = std::move(*read);
    }
    messages = judge(rows);
  }
  if (auto st = queue(messages); !st.ok()) return st;
  return set_cursor("usage", r.last_seq);
}

Status SqliteStorage::take_in_usage(const UsageReport& r, std::int64_t horizon_days, int limit,
                                    const UsageJudge& judge) {
  Txn txn(*impl_);
  if (auto st = txn.begin(); !st.ok()) return st;
  if (auto st = impl_->take_in_steps(r, horizon_days, limit, judge); !st.ok()) return st;
  return txn.commit();
}

// One transaction: the cursors "changes" and "usage" are one page, which is
// then written to the log once.
Status SqliteStorage::commit_check_with_take_in(std::int64_t last_change_seq,
                                                const std::vector<OutboxMessage>& messages,
                                                const UsageReport& r, std::int64_t horizon_days,
                                                int limit, const UsageJudge& judge) {
  Txn txn(*impl_);
  if (auto st = txn.begin(); !st.ok()) return st;
  if (auto st = impl_->queue(messages); !st.ok()) return st;
  if (last_change_seq > 0) {
    if (auto st = impl_->set_cursor("changes", last_change_seq); !st.ok()) return st;
  }
  if (auto st = impl_->take_in_steps(r, horizon_days, limit, judge); !st.ok()) return st;
  return txn.commit();
}

Result<std::optional<UsageRow>> SqliteStorage::usage_of(std::string_view store,
                                                        std::string_view item) {
  auto& s = impl_->stmt(impl_->usage_one);
  ResetGuard g(s);
  s.bind(1, store).bind(2, item);
  auto rows = collect<UsageRow>(s, read_usage);
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<UsageRow>();
  return std::optional<UsageRow>(std::move(rows->front()));
}

Result<std::vector<UsageRow>> SqliteStorage::usage_by_cover(std::optional<std::string> store,
                                                            int limit) {
  std::string sql = "SELECT " SW_USAGE_COLUMNS " " SW_USAGE_FROM
                    "WHERE i.count > 0 AND u.used > 0";
  if (store) sql += " AND u.store = ?1";
  sql += " ORDER BY CAST(i.count AS REAL) * (u.used_days + "
         "max(0, COALESCE(s.last_day, u.last_day) - u.last_day)) / u.used, u.store, u.item "
         "LIMIT ?2";
  return collect_sql<UsageRow>(impl_->db.get(), sql.c_str(),
                               [&](Statement& s) {
                                 if (store) s.bind(1, *store);
                                 s.bind(2, limit);
                               },
                               read_usage);
}

Result<std::vector<UsageRow>> SqliteStorage::usage_of_item(std::string_view item) {
  auto& s = impl_->stmt(impl_->usage_item);
  ResetGuard g(s);
  s.bind(1, item);
  return collect<UsageRow>(s, read_usage);
}

Result<std::vector<HistoryPoint>> SqliteStorage::item_history(std::string_view store,
                                                              std::string_view item, int limit) {
  auto& s = impl_->stmt(impl_->history_of);
  ResetGuard g(s);
  s.bind(1, store).bind(2, item).bind(3, limit);
  auto rows = collect<HistoryPoint>(
      s, [](const Statement& st) { return HistoryPoint{st.i64(0), st.i64(1), st.i64(2)}; });
  if (rows) std::reverse(rows->begin(), rows->end());
  return rows;
}

}  // namespace stockwatch
