// SQLite implementation of Storage. All of stockwatch's SQL is in this file.
#include "store/storage.hpp"

#include "os/file_ops.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <span>
#include <stdexcept>
#include <thread>

#include "store/sqlite/sqlite.hpp"

namespace stockwatch {

namespace sqlite {

Error error_from(sqlite3* db, int rc, std::string_view what) {
  const int primary = rc & 0xff;
  ErrorCode code = ErrorCode::kInternal;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) code = ErrorCode::kBusy;
  else if (primary == SQLITE_FULL || primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN ||
           primary == SQLITE_READONLY) code = ErrorCode::kIo;
  else if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) code = ErrorCode::kCorrupt;
  std::string msg(what);
  msg += ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return Error(code, std::move(msg));
}

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  s_.reset(raw);
  if (rc != SQLITE_OK) {
    throw StorageError("cannot prepare statement (" + std::string(sql.substr(0, 60)) +
                       "...): " + sqlite3_errmsg(db));
  }
}

Result<bool> Statement::step() {
  const int rc = sqlite3_step(s_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return error_from(db_, rc, "database step");
}

Status Statement::run() {
  ResetGuard guard(*this);
  auto r = step();
  if (!r) return r.error();
  return {};
}

Status Statement::run_rebound() {
  auto r = step();
  sqlite3_reset(s_.get());
  if (!r) return r.error();
  return {};
}

}  // namespace sqlite

using sqlite::ResetGuard;
using sqlite::Statement;

const char* to_string(ReportStatus s) {
  switch (s) {
    case ReportStatus::kLoaded: return "loaded";
    case ReportStatus::kRejected: return "rejected";
    case ReportStatus::kDuplicate: return "duplicate";
  }
  return "?";
}

const char* to_string(ChangeKind k) { return k == ChangeKind::kInsert ? "INSERT" : "MODIFY"; }

const char* to_string(OutboxState s) {
  switch (s) {
    case OutboxState::kQueued: return "queued";
    case OutboxState::kSent: return "sent";
    case OutboxState::kDead: return "dead";
  }
  return "?";
}

namespace {

ReportStatus report_status_from(const std::string& s) {
  if (s == "rejected") return ReportStatus::kRejected;
  if (s == "duplicate") return ReportStatus::kDuplicate;
  return ReportStatus::kLoaded;
}

OutboxState outbox_state_from(const std::string& s) {
  if (s == "sent") return OutboxState::kSent;
  if (s == "dead") return OutboxState::kDead;
  return OutboxState::kQueued;
}

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
  "finished_at, archived_path"

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
  return r;
}

// The columns read_outbox() expects, in its order.
#define SW_OUTBOX_COLUMNS                                                                  \
  "id, message_id, report_id, event, sender, recipient, subject, data, state, attempts, " \
  "created_at, next_attempt_at, sent_at, last_error"

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

struct Storage::Impl {
  const Clock& clock;
  std::unique_ptr<sqlite3, sqlite::DbCloser> db;
  // With auto_checkpoint off: the frames in the write-ahead log after this
  // connection's last commit (SQLite's WAL hook), and the page size.
  std::int64_t log_frames = -1;  // -1: not tracked
  std::int64_t page_size = 0;

  // Statements are prepared lazily and kept for the connection's life.
  std::optional<Statement> begin_immediate, commit, rollback;
  std::optional<Statement> seen_clear, seen_insert;
  std::optional<Statement> max_seq, inventory_from;
  // Batch writes, by chunk size: index i writes 2^i rows, up to
  // ReportLoad::kBatchRows.
  static constexpr int kChunkKinds = 9;
  std::optional<Statement> inv_insert[kChunkKinds], inv_upsert[kChunkKinds],
      change_insert[kChunkKinds], change_insert_new[kChunkKinds];
  std::optional<Statement> next_report_id, report_insert, find_loaded, find_latest, loaded_size, report_by_id,
      recent_reports, mark_archived, count_of;
  std::optional<Statement> cursor_get, cursor_set, first_pending_change, last_change_of_report,
      alerting_changes, next_rejected;
  std::optional<Statement> outbox_insert, outbox_due, outbox_next_due, outbox_sent,
      outbox_retry, outbox_dead, outbox_requeue, outbox_list_all, outbox_list_open,
      outbox_counts, outbox_open_counts, reports_since;

  explicit Impl(const Clock& c) : clock(c) {}

  Statement& stmt(std::optional<Statement>& slot, const char* sql) {
    if (!slot) slot.emplace(db.get(), sql);
    return *slot;
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

  Status begin() { return stmt(begin_immediate, "BEGIN IMMEDIATE").run(); }
  Status do_commit() { return stmt(commit, "COMMIT").run(); }
  void do_rollback() {
    if (!sqlite3_get_autocommit(db.get())) (void)stmt(rollback, "ROLLBACK").run();
  }

  Result<std::int64_t> max_change_seq() {
    auto& s = stmt(max_seq, "SELECT COALESCE(MAX(seq), 0) FROM changes");
    ResetGuard g(s);
    auto r = s.step();
    if (!r) return r.error();
    return s.i64(0);
  }

  Result<std::int64_t> cursor(const char* name) {
    auto& s = stmt(cursor_get, "SELECT position FROM cursors WHERE name = ?");
    ResetGuard g(s);
    s.bind(1, name);
    auto r = s.step();
    if (!r) return r.error();
    if (!*r) return Error(ErrorCode::kCorrupt, std::string("cursor missing: ") + name);
    return s.i64(0);
  }

  Status set_cursor(const char* name, std::int64_t pos) {
    // max(): a cursor only moves forward.
    return stmt(cursor_set, "UPDATE cursors SET position = max(position, ?) WHERE name = ?")
        .bind(1, pos).bind(2, name).run();
  }
};

// A transaction guard for the short write transactions below.
class Txn {
 public:
  explicit Txn(Storage::Impl& impl) : impl_(impl) {}
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
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;

 private:
  Storage::Impl& impl_;
  bool active_ = false;
};

// ---------------------------------------------------------------------------

namespace {

// Brings the database up to the last of `steps`, one step per transaction.
// PRAGMA user_version is read again inside each transaction, so two
// processes opening the same old file never run a step twice. A database
// newer than the last step is refused and left as it is; a step that fails
// is rolled back and the database stays at the version before it.
void migrate(Storage::Impl& impl, const std::filesystem::path& file,
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

std::span<const SchemaStep> Storage::schema_steps() { return kSchemaSteps; }

int Storage::schema_version() { return kSchemaSteps[std::size(kSchemaSteps) - 1].version; }

std::unique_ptr<Storage> Storage::open(const std::filesystem::path& file,
                                       const StorageOptions& options, const Clock& clock) {
  return open_with_schema(file, options, clock, schema_steps());
}

std::unique_ptr<Storage> Storage::open_with_schema(const std::filesystem::path& file,
                                                   const StorageOptions& options,
                                                   const Clock& clock,
                                                   std::span<const SchemaStep> steps) {
  check_steps(steps);
  auto impl = std::make_unique<Impl>(clock);
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
  if (!options.auto_checkpoint) {
    // The hook replaces SQLite's automatic checkpoint, which uses the same
    // slot: a later PRAGMA wal_autocheckpoint on this connection would
    // silently remove it, and checkpoint(bytes) would then never run.
    impl->log_frames = 0;
    sqlite3_wal_hook(
        raw,
        [](void* p, sqlite3*, const char*, int frames) {
          static_cast<Impl*>(p)->log_frames = frames;
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
  return std::unique_ptr<Storage>(new Storage(std::move(impl)));
}

Storage::Storage(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Status Storage::checkpoint(std::int64_t min_log_bytes) {
  auto& impl = *impl_;
  if (impl.log_frames >= 0 && impl.log_frames * impl.page_size < min_log_bytes) return {};
  int log = 0, done = 0;
  const int rc = sqlite3_wal_checkpoint_v2(impl.db.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                           &log, &done);
  if (rc == SQLITE_BUSY) return {};  // another connection is checkpointing
  if (rc != SQLITE_OK) return sqlite::error_from(impl.db.get(), rc, "checkpoint");
  // All copied: the next commit starts the log over. Otherwise a reader
  // still needs the rest, and the next call tries again.
  if (impl.log_frames >= 0 && done == log) impl.log_frames = 0;
  return {};
}
Storage::~Storage() = default;

// --- Ledger ------------------------------------------------------------------

Result<std::optional<ReportRecord>> Storage::find_loaded(const std::string& sha256) {
  auto& s = impl_->stmt(impl_->find_loaded,
                        "SELECT " SW_REPORT_COLUMNS " FROM reports "
                        "WHERE sha256 = ? AND status = 'loaded'");
  ResetGuard g(s);
  s.bind(1, sha256);
  auto r = s.step();
  if (!r) return r.error();
  if (!*r) return std::optional<ReportRecord>();
  return std::optional<ReportRecord>(read_report(s));
}

Result<std::optional<ReportRecord>> Storage::find_latest(const std::string& path,
                                                         const std::string& sha256) {
  auto& s = impl_->stmt(impl_->find_latest,
                        "SELECT " SW_REPORT_COLUMNS " FROM reports "
                        "WHERE path = ? AND sha256 = ? ORDER BY id DESC LIMIT 1");
  ResetGuard g(s);
  s.bind(1, path).bind(2, sha256);
  auto r = s.step();
  if (!r) return r.error();
  if (!*r) return std::optional<ReportRecord>();
  return std::optional<ReportRecord>(read_report(s));
}

Result<bool> Storage::loaded_with_size(std::int64_t size) {
  auto& s = impl_->stmt(impl_->loaded_size,
                        "SELECT 1 FROM reports WHERE size = ? AND status = 'loaded' LIMIT 1");
  ResetGuard g(s);
  s.bind(1, size);
  auto r = s.step();
  if (!r) return r.error();
  return *r;
}

Result<ReportLoad> Storage::begin_report() {
  auto st = impl_->begin();
  if (!st.ok()) return st.error();
  auto& s = impl_->stmt(impl_->next_report_id, "SELECT COALESCE(MAX(id), 0) + 1 FROM reports");
  std::int64_t id = 0;
  {
    ResetGuard g(s);
    auto r = s.step();
    if (!r) {
      impl_->do_rollback();
      return r.error();
    }
    id = s.i64(0);
  }
  auto clear = impl_->stmt(impl_->seen_clear, "DELETE FROM temp.seen_rows").run();
  if (!clear.ok()) {
    impl_->do_rollback();
    return clear.error();
  }
  auto base = impl_->max_change_seq();
  if (!base) {
    impl_->do_rollback();
    return base.error();
  }
  ReportLoad load(this, id);
  load.base_seq_ = *base;
  return load;
}

namespace {
Status insert_report(Storage::Impl& impl, std::optional<Statement>& slot, const ReportRecord& rec,
                     std::optional<std::int64_t> explicit_id, std::int64_t* id_out,
                     std::int64_t first_seq = 0, std::int64_t last_seq = 0) {
  auto& s = impl.stmt(slot,
                      "INSERT INTO reports(id, path, size, sha256, status, rows, changes, error, "
                      "duplicate_of, received_at, finished_at, archived_path, first_seq, last_seq) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  s.bind(1, explicit_id)
      .bind(2, rec.path)
      .bind(3, rec.size)
      .bind(4, rec.sha256)
      .bind(5, to_string(rec.status))
      .bind(6, rec.rows)
      .bind(7, rec.changes)
      .bind(8, rec.error)
      .bind(9, rec.duplicate_of)
      .bind(10, to_unix_ms(rec.received_at))
      .bind(11, to_unix_ms(rec.finished_at))
      .bind(12, rec.archived_path)
      .bind(13, first_seq)
      .bind(14, last_seq);
  auto st = s.run();
  if (st.ok() && id_out) *id_out = sqlite3_last_insert_rowid(impl.db.get());
  return st;
}
}  // namespace

Result<std::int64_t> Storage::record_report(const ReportRecord& record) {
  Txn txn(*impl_);
  if (auto st = txn.begin(); !st.ok()) return st.error();
  std::int64_t id = 0;
  if (auto st = insert_report(*impl_, impl_->report_insert, record, std::nullopt, &id); !st.ok())
    return st.error();
  if (auto st = txn.commit(); !st.ok()) return st.error();
  return id;
}

Status Storage::mark_archived(std::int64_t report_id, const std::string& archived_path) {
  return impl_->stmt(impl_->mark_archived, "UPDATE reports SET archived_path = ? WHERE id = ?")
      .bind(1, archived_path)
      .bind(2, report_id)
      .run();
}

Result<std::optional<ReportRecord>> Storage::report(std::int64_t id) {
  auto& s = impl_->stmt(impl_->report_by_id,
                        "SELECT " SW_REPORT_COLUMNS " FROM reports "
                        "WHERE id = ?");
  ResetGuard g(s);
  s.bind(1, id);
  auto r = s.step();
  if (!r) return r.error();
  if (!*r) return std::optional<ReportRecord>();
  return std::optional<ReportRecord>(read_report(s));
}

Result<std::vector<ReportRecord>> Storage::recent_reports(int limit) {
  auto& s = impl_->stmt(impl_->recent_reports,
                        "SELECT " SW_REPORT_COLUMNS " FROM reports "
                        "ORDER BY id DESC LIMIT ?");
  ResetGuard g(s);
  s.bind(1, limit);
  return collect<ReportRecord>(s, read_report);
}

// --- Report load ---------------------------------------------------------------

ReportLoad::ReportLoad(Storage* storage, std::int64_t report_id)
    : storage_(storage), report_id_(report_id) {}

ReportLoad::ReportLoad(ReportLoad&& o) noexcept
    : storage_(std::exchange(o.storage_, nullptr)),
      report_id_(o.report_id_),
      rows_(o.rows_),
      changes_(o.changes_),
      base_seq_(o.base_seq_),
      names_(std::move(o.names_)),
      pending_(std::move(o.pending_)),
      change_sink_(std::move(o.change_sink_)),
      log_names_(std::move(o.log_names_)),
      logged_(std::move(o.logged_)),
      order_(std::move(o.order_)),
      old_(std::move(o.old_)),
      changed_(std::move(o.changed_)),
      inserted_(std::move(o.inserted_)),
      updated_(std::move(o.updated_)) {}

ReportLoad& ReportLoad::operator=(ReportLoad&& o) noexcept {
  if (this != &o) {
    rollback();
    storage_ = std::exchange(o.storage_, nullptr);
    report_id_ = o.report_id_;
    rows_ = o.rows_;
    changes_ = o.changes_;
    base_seq_ = o.base_seq_;
    names_ = std::move(o.names_);
    pending_ = std::move(o.pending_);
    change_sink_ = std::move(o.change_sink_);
    log_names_ = std::move(o.log_names_);
    logged_ = std::move(o.logged_);
    order_ = std::move(o.order_);
    old_ = std::move(o.old_);
    changed_ = std::move(o.changed_);
    inserted_ = std::move(o.inserted_);
    updated_ = std::move(o.updated_);
  }
  return *this;
}

ReportLoad::~ReportLoad() { rollback(); }

void ReportLoad::rollback() {
  if (storage_) {
    storage_->impl_->do_rollback();
    storage_ = nullptr;
  }
}

Status ReportLoad::upsert(std::string_view store, std::string_view item, std::int64_t count,
                          std::uint64_t line) {
  if (!storage_) return Error(ErrorCode::kInternal, "report load already finished");
  const std::size_t so = names_.size();
  names_.append(store);
  const std::size_t io = names_.size();
  names_.append(item);
  pending_.push_back({so, store.size(), io, item.size(), count, line});
  ++rows_;
  if (pending_.size() >= static_cast<std::size_t>(kBatchRows)) return flush();
  return {};
}

namespace {

// Changed rows are written in chunks whose sizes are powers of two up to
// kBatchRows, so a few statements, each prepared once, cover every batch.
constexpr int kChunkKinds = Storage::Impl::kChunkKinds;
static_assert(ReportLoad::kBatchRows == 1 << (kChunkKinds - 1));

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
  std::string sql = "INSERT OR FAIL INTO inventory(store, item, count, updated_at, report_id) VALUES ";
  for (std::size_t i = 0; i < rows; ++i) {
    const std::size_t p = 3 + 3 * i;
    if (i) sql += ',';
    sql += "(?" + std::to_string(p) + ",?" + std::to_string(p + 1) + ",?" + std::to_string(p + 2) +
           ",?1,?2)";
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

// Rows of inventory in key order from a key on: the batch's current counts
// are read by merging its sorted keys with this scan, so a report in key
// order costs one seek per batch instead of one per row.
constexpr const char* kInventoryFrom =
    "SELECT store, item, count FROM inventory WHERE (store, item) >= (?1, ?2) "
    "ORDER BY store, item";
// Rows of the scan that are not in the batch, read before seeking again.
constexpr int kMaxSkippedRows = 32;

// Key order of SQLite's BINARY collation: bytes, then length.
int compare_keys(std::string_view s1, std::string_view i1, std::string_view s2,
                 std::string_view i2) {
  if (const int c = s1.compare(s2); c != 0) return c;
  return i1.compare(i2);
}

}  // namespace

Status ReportLoad::read_current_counts() {
  auto& impl = *storage_->impl_;
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

  Statement& scan = impl.stmt(impl.inventory_from, kInventoryFrom);
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

Status ReportLoad::flush() {
  if (!storage_) return Error(ErrorCode::kInternal, "report load already finished");
  if (!pending_.empty()) {
    auto st = write_batch();
    pending_.clear();
    names_.clear();
    if (!st.ok()) return st;
  }
  return write_logged();
}

Status ReportLoad::log_change(std::string_view store, std::string_view item,
                              std::optional<std::int64_t> old_count, std::int64_t count) {
  if (!storage_) return Error(ErrorCode::kInternal, "report load already finished");
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
template <typename Sql, typename Bind>
Status write_chunks(sqlite3* db, std::optional<Statement> (&slots)[kChunkKinds],
                    const std::vector<std::uint32_t>& rows, std::int64_t now,
                    std::int64_t report_id, Sql sql, Bind bind) {
  std::size_t done = 0;
  while (done < rows.size()) {
    int kind = kChunkKinds - 1;
    while ((std::size_t{1} << kind) > rows.size() - done) --kind;
    const std::size_t n = std::size_t{1} << kind;
    auto& s = slots[kind];
    if (!s) s.emplace(db, sql(n));
    s->bind(1, now).bind(2, report_id);
    for (std::size_t j = 0; j < n; ++j) bind(*s, static_cast<int>(j), rows[done + j]);
    if (auto st = s->run_rebound(); !st.ok()) return st;
    done += n;
  }
  return {};
}

}  // namespace

// Writes the rows of the batch that are new or have another count, and one
// change record for each, in row order; a row with the same count writes
// nothing.
Status ReportLoad::write_batch() {
  if (auto st = read_current_counts(); !st.ok()) return st;
  changed_.clear();
  inserted_.clear();
  updated_.clear();
  for (std::size_t k = 0; k < pending_.size(); ++k) {
    if (old_[k] == pending_[k].count) continue;
    const auto row = static_cast<std::uint32_t>(k);
    changed_.push_back(row);
    (old_[k] == kAbsent ? inserted_ : updated_).push_back(row);
  }
  if (changed_.empty()) return {};
  auto& impl = *storage_->impl_;
  sqlite3* db = impl.db.get();
  const std::int64_t now = to_unix_ms(impl.clock.now());
  const auto bind_row = [&](Statement& s, int j, std::uint32_t k) {
    const int p = 3 + 3 * j;
    s.bind(p, store_of(k)).bind(p + 1, item_of(k)).bind(p + 2, pending_[k].count);
  };
  if (auto st = write_chunks(db, impl.inv_insert, inserted_, now, report_id_,
                             [](std::size_t n) { return inventory_sql(n, false); }, bind_row);
      !st.ok()) {
    return st;
  }
  if (auto st = write_chunks(db, impl.inv_upsert, updated_, now, report_id_,
                             [](std::size_t n) { return inventory_sql(n, true); }, bind_row);
      !st.ok()) {
    return st;
  }
  changes_ += static_cast<std::int64_t>(changed_.size());
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
          ? write_chunks(db, impl.change_insert_new, changed_, now, report_id_,
                         [](std::size_t n) { return changes_sql(n, true); }, bind_row)
          : write_chunks(db, impl.change_insert, changed_, now, report_id_,
                         [](std::size_t n) { return changes_sql(n, false); }, bind_change);
  return logged;
}

// Writes the change records given to log_change(), in their order.
Status ReportLoad::write_logged() {
  if (logged_.empty()) return {};
  auto& impl = *storage_->impl_;
  const std::int64_t now = to_unix_ms(impl.clock.now());
  changed_.resize(logged_.size());
  for (std::size_t k = 0; k < logged_.size(); ++k) changed_[k] = static_cast<std::uint32_t>(k);
  const auto name = [&](std::size_t off, std::size_t len) {
    return std::string_view(log_names_.data() + off, len);
  };
  const Status st = write_chunks(
      impl.db.get(), impl.change_insert, changed_, now, report_id_,
      [](std::size_t n) { return changes_sql(n, false); },
      [&](Statement& s, int j, std::uint32_t k) {
        const Logged& r = logged_[k];
        const int q = 3 + 4 * j;
        s.bind(q, name(r.store_off, r.store_len))
            .bind(q + 1, name(r.item_off, r.item_len))
            .bind(q + 2, r.old_count == kAbsent ? std::nullopt
                                                : std::optional<std::int64_t>(r.old_count))
            .bind(q + 3, r.count);
      });
  logged_.clear();
  log_names_.clear();
  return st;
}

Result<bool> ReportLoad::remember_key(std::int64_t key) {
  if (!storage_) return Error(ErrorCode::kInternal, "report load already finished");
  auto& impl = *storage_->impl_;
  auto& seen = impl.stmt(impl.seen_insert,
                         "INSERT INTO temp.seen_rows(h, line) VALUES (?, 0) "
                         "ON CONFLICT(h) DO NOTHING");
  seen.bind(1, key);
  if (auto st = seen.run(); !st.ok()) return st.error();
  return sqlite3_changes(impl.db.get()) == 0;
}

Result<std::int64_t> ReportLoad::commit(ReportRecord record) {
  if (!storage_) return Error(ErrorCode::kInternal, "report load already finished");
  if (auto st = flush(); !st.ok()) {
    rollback();
    return st.error();
  }
  auto& impl = *storage_->impl_;
  record.status = ReportStatus::kLoaded;
  record.rows = rows_;
  record.changes = changes_;
  std::int64_t first_seq = 0, last_seq = 0;
  if (changes_ > 0) {
    auto last = impl.max_change_seq();
    if (!last) {
      rollback();
      return last.error();
    }
    first_seq = base_seq_ + 1;
    last_seq = *last;
  }
  std::int64_t id = 0;
  if (auto st = insert_report(impl, impl.report_insert, record, report_id_, &id, first_seq,
                              last_seq);
      !st.ok()) {
    rollback();
    return st.error();
  }
  if (auto st = impl.do_commit(); !st.ok()) {
    rollback();
    return st.error();
  }
  storage_ = nullptr;
  return id;
}

// --- Inventory -------------------------------------------------------------------

Result<std::optional<std::int64_t>> Storage::count_of(std::string_view store,
                                                       std::string_view item) {
  auto& s = impl_->stmt(impl_->count_of, "SELECT count FROM inventory WHERE store = ? AND item = ?");
  ResetGuard g(s);
  s.bind(1, store).bind(2, item);
  auto r = s.step();
  if (!r) return r.error();
  if (!*r) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(s.i64(0));
}

// --- Checker -----------------------------------------------------------------------

namespace {

// Reads the alerting records after `after` up to p.last_seq, at most
// `page_size` of them, into p's page; sets p.more_after.
Status read_change_page(Storage::Impl& impl, std::int64_t after, PendingChanges& p,
                        std::size_t page_size) {
  p.out_of_stock.clear();
  p.back_in_stock.clear();
  p.more_after = 0;
  if (page_size == 0) page_size = 1;
  auto& s = impl.stmt(impl.alerting_changes,
                      "SELECT seq, store, item, old_count, new_count FROM changes "
                      "WHERE seq > ? AND seq <= ? AND (new_count = 0 OR old_count = 0) "
                      "ORDER BY seq LIMIT ?");
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
    last = c.seq;
    ++read;
    (c.new_count == 0 ? p.out_of_stock : p.back_in_stock).push_back(std::move(c));
  }
  // A full page may have more after it; the next read tells.
  if (read == page_size) p.more_after = last;
  return {};
}

}  // namespace

Result<std::optional<PendingChanges>> Storage::next_pending_changes(std::size_t page_size) {
  auto cur = impl_->cursor("changes");
  if (!cur) return cur.error();
  PendingChanges p;
  {
    auto& s = impl_->stmt(impl_->first_pending_change,
                          "SELECT report_id FROM changes WHERE seq > ? ORDER BY seq LIMIT 1");
    ResetGuard g(s);
    s.bind(1, *cur);
    auto r = s.step();
    if (!r) return r.error();
    if (!*r) return std::optional<PendingChanges>();
    p.report_id = s.i64(0);
  }
  {
    auto& s = impl_->stmt(impl_->last_change_of_report,
                          "SELECT last_seq FROM reports WHERE id = ?");
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

Status Storage::next_change_page(PendingChanges& p, std::size_t page_size) {
  if (p.more_after == 0) return Error(ErrorCode::kInternal, "no page after the last one");
  return read_change_page(*impl_, p.more_after, p, page_size);
}

Result<std::optional<ReportRecord>> Storage::next_pending_rejection() {
  auto cur = impl_->cursor("rejected");
  if (!cur) return cur.error();
  auto& s = impl_->stmt(impl_->next_rejected,
                        "SELECT " SW_REPORT_COLUMNS " FROM reports "
                        "WHERE id > ? AND status = 'rejected' ORDER BY id LIMIT 1");
  ResetGuard g(s);
  s.bind(1, *cur);
  auto r = s.step();
  if (!r) return r.error();
  if (!*r) return std::optional<ReportRecord>();
  return std::optional<ReportRecord>(read_report(s));
}

Status Storage::commit_check(std::int64_t last_change_seq, std::int64_t last_rejected_id,
                             const std::vector<OutboxMessage>& messages) {
  Txn txn(*impl_);
  if (auto st = txn.begin(); !st.ok()) return st;
  auto& ins = impl_->stmt(impl_->outbox_insert,
                          "INSERT INTO outbox(message_id, report_id, event, sender, recipient, "
                          "subject, data, state, attempts, created_at, next_attempt_at) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?) "
                          "ON CONFLICT(message_id) DO NOTHING");
  for (const auto& m : messages) {
    ins.bind(1, m.message_id)
        .bind(2, m.report_id)
        .bind(3, m.event)
        .bind(4, m.sender)
        .bind(5, m.recipient)
        .bind(6, m.subject)
        .bind(7, m.data)
        .bind(8, to_unix_ms(m.created_at))
        .bind(9, to_unix_ms(m.next_attempt_at));
    if (auto st = ins.run(); !st.ok()) return st;
  }
  if (last_change_seq > 0) {
    if (auto st = impl_->set_cursor("changes", last_change_seq); !st.ok()) return st;
  }
  if (last_rejected_id > 0) {
    if (auto st = impl_->set_cursor("rejected", last_rejected_id); !st.ok()) return st;
  }
  return txn.commit();
}

// --- Outbox -------------------------------------------------------------------------

Result<std::vector<OutboxMessage>> Storage::due_messages(TimePoint now, int limit) {
  auto& s = impl_->stmt(impl_->outbox_due,
                        "SELECT " SW_OUTBOX_COLUMNS " "
                        "FROM outbox WHERE state = 'queued' AND next_attempt_at <= ? "
                        "ORDER BY next_attempt_at, id LIMIT ?");
  ResetGuard g(s);
  s.bind(1, static_cast<std::int64_t>(to_unix_ms(now))).bind(2, limit);
  return collect<OutboxMessage>(s, read_outbox);
}

Result<std::optional<TimePoint>> Storage::next_due_time() {
  auto& s = impl_->stmt(impl_->outbox_next_due,
                        "SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'queued'");
  ResetGuard g(s);
  auto r = s.step();
  if (!r) return r.error();
  if (!*r || s.is_null(0)) return std::optional<TimePoint>();
  return std::optional<TimePoint>(from_unix_ms(s.i64(0)));
}

Status Storage::mark_sent(std::int64_t id, TimePoint at) {
  return impl_->stmt(impl_->outbox_sent,
                     "UPDATE outbox SET state = 'sent', attempts = attempts + 1, sent_at = ?, "
                     "last_error = '' WHERE id = ?")
      .bind(1, static_cast<std::int64_t>(to_unix_ms(at)))
      .bind(2, id)
      .run();
}

Status Storage::mark_retry(std::int64_t id, TimePoint next_attempt, const std::string& error) {
  return impl_->stmt(impl_->outbox_retry,
                     "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, "
                     "last_error = ? WHERE id = ?")
      .bind(1, static_cast<std::int64_t>(to_unix_ms(next_attempt)))
      .bind(2, error)
      .bind(3, id)
      .run();
}

Status Storage::mark_dead(std::int64_t id, const std::string& error) {
  return impl_->stmt(impl_->outbox_dead,
                     "UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = ? "
                     "WHERE id = ?")
      .bind(1, error)
      .bind(2, id)
      .run();
}

Result<bool> Storage::requeue(std::int64_t id, TimePoint at) {
  auto st = impl_->stmt(impl_->outbox_requeue,
                     "UPDATE outbox SET state = 'queued', attempts = 0, next_attempt_at = ?, "
                     "created_at = ? WHERE id = ? AND state = 'dead'")
      .bind(1, static_cast<std::int64_t>(to_unix_ms(at)))
      .bind(2, static_cast<std::int64_t>(to_unix_ms(at)))
      .bind(3, id)
      .run();
  if (!st.ok()) return st.error();
  return sqlite3_changes(impl_->db.get()) > 0;
}

Result<std::vector<OutboxMessage>> Storage::list_outbox(bool include_sent, int limit) {
  auto& s = include_sent
                ? impl_->stmt(impl_->outbox_list_all,
                              "SELECT " SW_OUTBOX_COLUMNS " FROM outbox ORDER BY id DESC LIMIT ?")
                : impl_->stmt(impl_->outbox_list_open,
                              "SELECT " SW_OUTBOX_COLUMNS " FROM outbox WHERE state != 'sent' "
                              "ORDER BY id DESC LIMIT ?");
  ResetGuard g(s);
  s.bind(1, limit);
  return collect<OutboxMessage>(s, read_outbox);
}

Result<OutboxCounts> Storage::open_outbox_counts() {
  auto& s = impl_->stmt(impl_->outbox_open_counts,
                        "SELECT state, COUNT(*) FROM outbox WHERE state <> 'sent' GROUP BY state");
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

Result<std::int64_t> Storage::count_reports_since(TimePoint since) {
  auto& s = impl_->stmt(impl_->reports_since, "SELECT COUNT(*) FROM reports WHERE received_at >= ?");
  ResetGuard g(s);
  s.bind(1, static_cast<std::int64_t>(to_unix_ms(since)));
  auto r = s.step();
  if (!r) return r.error();
  return s.i64(0);
}

Result<OutboxCounts> Storage::outbox_counts() {
  auto& s = impl_->stmt(impl_->outbox_counts,
                        "SELECT state, COUNT(*) FROM outbox GROUP BY state");
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

Status fsync_path(const std::filesystem::path& p, int flags) {
  const int fd = ::open(p.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return errno_error("cannot open " + p.string(), errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return errno_error("cannot sync " + p.string(), err);
  return {};
}

}  // namespace

Result<BackupInfo> Storage::backup(const std::filesystem::path& source,
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

    if (auto st = fsync_path(tmp, O_RDONLY); !st.ok()) return st.error();
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

Result<std::vector<InventoryRow>> Storage::list_inventory(const InventoryQuery& q) {
  std::string sql = "SELECT store, item, count, updated_at, report_id FROM inventory WHERE 1";
  if (q.store) sql += " AND store = ?1";
  if (q.out_of_stock_only) sql += " AND count = 0";
  if (q.after) sql += " AND (store, item) > (?2, ?3)";
  sql += " ORDER BY store, item LIMIT ?4";
  try {
    Statement s(impl_->db.get(), sql.c_str());
    if (q.store) s.bind(1, *q.store);
    if (q.after) s.bind(2, q.after->first).bind(3, q.after->second);
    s.bind(4, q.limit);
    return collect<InventoryRow>(s, [](const Statement& st) {
      return InventoryRow{st.text(0), st.text(1), st.i64(2), from_unix_ms(st.i64(3)), st.i64(4)};
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

Result<std::vector<ReportRecord>> Storage::reports_page(std::int64_t before_id,
                                                        std::optional<ReportStatus> status,
                                                        int limit) {
  return newest_first<ReportRecord>(impl_->db.get(), "SELECT " SW_REPORT_COLUMNS " FROM reports",
                                    "status", status ? to_string(*status) : nullptr, before_id,
                                    limit, read_report);
}

Result<std::vector<OutboxMessage>> Storage::outbox_page(std::int64_t before_id,
                                                        std::optional<OutboxState> state,
                                                        int limit) {
  return newest_first<OutboxMessage>(impl_->db.get(), "SELECT " SW_OUTBOX_COLUMNS " FROM outbox",
                                     "state", state ? to_string(*state) : nullptr, before_id,
                                     limit, read_outbox);
}

}  // namespace stockwatch
