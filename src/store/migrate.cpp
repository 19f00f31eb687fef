#include "store/migrate.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <memory>

#include "store/postgresql/pg.hpp"
#include "store/postgresql/postgresql_storage.hpp"
#include "store/sqlite/sqlite.hpp"
#include "store/sqlite/sqlite_storage.hpp"
#include "text/masked_password.hpp"

namespace stockwatch {

namespace {

// One table copied: its PostgreSQL name and columns, the SQLite query that
// gives those columns in that order, and the SQLite table whose row count
// must equal the copy's. The PostgreSQL schema keeps a change by its
// report and its place in it (ord), SQLite by its number (seq): within a
// report, numbers are consecutive from the report's first_seq.
struct Copied {
  const char* table;
  const char* columns;
  const char* select;
  const char* source;
};

// Every table with data, in an order that needs no deferred checks. A new
// table is one line here.
constexpr Copied kMigratedTables[] = {
    {"reports",
     "id, path, size, sha256, status, rows, changes, error, problems, duplicate_of, first_seq, "
     "last_seq, rejected_pos, received_at, finished_at, archived_path, report_day, date_source, "
     "arrived_by, first_sightings, first_sighting_count",
     "SELECT id, path, size, sha256, status, rows, changes, error, problems, duplicate_of, "
     "first_seq, last_seq, CASE WHEN status = 'rejected' THEN id END, received_at, finished_at, "
     "archived_path, report_day, date_source, arrived_by, "
     "CASE WHEN first_sightings <> 0 THEN 't' ELSE 'f' END, first_sightings FROM reports "
     "WHERE status <> 'loading'",
     "reports WHERE status <> 'loading'"},
    {"inventory",
     "store, item, count, previous_count, updated_at, report_id, first_report, first_count",
     "SELECT store, item, count, NULL, updated_at, report_id, first_report, first_count "
     "FROM inventory",
     "inventory"},
    {"changes", "report_id, ord, store, item, old_count, new_count",
     "SELECT c.report_id, c.seq - r.first_seq + 1, c.store, c.item, c.old_count, c.new_count "
     "FROM changes c JOIN reports r ON r.id = c.report_id",
     "changes"},
    {"events", "report_id, ord, event, store, item, old_count, new_count, minimum",
     "SELECT e.report_id, e.seq - r.first_seq + 1, e.event, e.store, e.item, e.old_count, "
     "e.new_count, e.minimum FROM events e JOIN reports r ON r.id = e.report_id",
     "events"},
    {"cursors", "name, position", "SELECT name, position FROM cursors", "cursors"},
    {"outbox",
     "id, message_id, report_id, event, channel, sender, recipient, language, payload, subject, "
     "data, state, attempts, created_at, next_attempt_at, sent_at, last_error, claimed_by, "
     "claim_expires_at",
     "SELECT id, message_id, report_id, event, channel, sender, recipient, language, payload, "
     "subject, data, state, attempts, created_at, next_attempt_at, sent_at, last_error, NULL, "
     "NULL FROM outbox",
     "outbox"},
    {"report_stores", "store, report_id", "SELECT store, report_id FROM report_stores",
     "report_stores"},
    {"levels", "store, item, minimum", "SELECT store, item, minimum FROM levels", "levels"},
    {"levels_state", "id, report_id", "SELECT id, report_id FROM levels_state", "levels_state"},
    {"mutes", "store, item, until_at, until_change, created_at",
     "SELECT store, item, until_at, CASE WHEN until_change <> 0 THEN 't' ELSE 'f' END, "
     "created_at FROM mutes",
     "mutes"},
    {"usage_points", "store, item, day, count, report_id",
     "SELECT store, item, day, count, report_id FROM usage_points", "usage_points"},
    {"usage", "store, item, first_day, last_day, last_count, used, used_days",
     "SELECT store, item, first_day, last_day, last_count, used, used_days FROM usage", "usage"},
    {"usage_stores", "store, last_day, prev_day",
     "SELECT store, last_day, prev_day FROM usage_stores", "usage_stores"},
    {"mail_receipts", "mail_key, message_id, sender, state, received_at, answered_at, reply_id",
     "SELECT mail_key, message_id, sender, state, received_at, answered_at, reply_id "
     "FROM mail_receipts",
     "mail_receipts"},
    {"mail_attachments", "mail_key, position, name, path, sha256, report_id",
     "SELECT mail_key, position, name, path, sha256, report_id FROM mail_attachments",
     "mail_attachments"},
    {"accounts", "id, name, role, stores, password_hash, language, created_at",
     "SELECT id, name, role, stores, password_hash, language, created_at FROM accounts",
     "accounts"},
    {"sessions", "id_digest, account_id, csrf, created_at, last_seen_at",
     "SELECT id_digest, account_id, csrf, created_at, last_seen_at FROM sessions", "sessions"},
    {"setup_tokens", "digest, expires_at", "SELECT digest, expires_at FROM setup_tokens",
     "setup_tokens"},
    {"sign_in_failures", "id, name, address, at",
     "SELECT id, name, address, at FROM sign_in_failures", "sign_in_failures"},
};

// Made by the PostgreSQL schema itself, replaced by the copy.
constexpr const char* kReplaced[] = {"cursors", "levels_state"};

// After the copy: the feeds continue where SQLite's numbers end, and new
// ids after the copied ones.
constexpr const char* kFixUp = R"SQL(
UPDATE feeds SET position = (SELECT COALESCE(max(last_seq), 0) FROM reports) WHERE name = 'changes';
UPDATE feeds SET position = (SELECT COALESCE(max(rejected_pos), 0) FROM reports) WHERE name = 'rejected';
SELECT setval(pg_get_serial_sequence('reports', 'id'), (SELECT COALESCE(max(id), 0) + 1 FROM reports), false);
SELECT setval(pg_get_serial_sequence('outbox', 'id'), (SELECT COALESCE(max(id), 0) + 1 FROM outbox), false);
SELECT setval(pg_get_serial_sequence('accounts', 'id'), (SELECT COALESCE(max(id), 0) + 1 FROM accounts), false);
SELECT setval(pg_get_serial_sequence('sign_in_failures', 'id'), (SELECT COALESCE(max(id), 0) + 1 FROM sign_in_failures), false);
)SQL";

constexpr std::size_t kCopyBytes = 8 << 20;  // sent per COPY

bool replaced(std::string_view table) {
  for (const char* t : kReplaced) {
    if (table == t) return true;
  }
  return false;
}

Result<std::int64_t> sqlite_count(sqlite3* db, const std::string& what) {
  sqlite::Statement s(db, "SELECT count(*) FROM " + what);
  auto row = s.step();
  if (!row) return row.error();
  return s.i64(0);
}

Result<std::vector<MigratedTable>> copy_all(const std::filesystem::path& sqlite_file,
                                            const std::string& url, const std::string& where,
                                            const StorageOptions& options);

}  // namespace

Result<std::vector<MigratedTable>> migrate_to_postgresql(const std::filesystem::path& sqlite_file,
                                                         const std::string& url,
                                                         const StorageOptions& options,
                                                         const Clock& clock) {
  const std::string where = mask_password(url);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(sqlite_file, ec)) {
    return Error(ErrorCode::kNotFound, "there is no SQLite database at " + sqlite_file.string() +
                                           " (storage.database) to copy");
  }
  try {
    // Both schemas current, as the daemon would make them.
    SqliteStorage::open(sqlite_file, options, clock).reset();
    PostgresStorage::open(url, options, clock).reset();
  } catch (const std::exception& e) {
    return Error(ErrorCode::kTransient, e.what());
  }

  try {
    return copy_all(sqlite_file, url, where, options);
  } catch (const std::exception& e) {
    return Error(ErrorCode::kInternal, e.what());
  }
}

namespace {

Result<std::vector<MigratedTable>> copy_all(const std::filesystem::path& sqlite_file,
                                            const std::string& url, const std::string& where,
                                            const StorageOptions& options) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(sqlite_file.c_str(), &raw,
                                 SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<sqlite3, sqlite::DbCloser> src(raw);
  if (rc != SQLITE_OK) return sqlite::error_from(raw, rc, "cannot open " + sqlite_file.string());

  std::vector<std::pair<std::string, std::string>> params = {
      {"connect_timeout", "10"}, {"dbname", url}, {"application_name", "stockwatch migrate"},
      {"client_encoding", "UTF8"}};
  if (!options.password.empty()) params.insert(params.begin(), {"password", options.password});
  auto pg = pg::Connection::open(params);
  if (!pg.ok()) {
    return Error(ErrorCode::kTransient, "cannot connect to PostgreSQL at " + where + ": " +
                                            pg.error());
  }
  auto pg_error = [&](const Error& e) {
    return Error(e.code(), "PostgreSQL " + where + ": " + e.message());
  };

  // One snapshot of the source, one transaction on the target.
  if (auto st = sqlite::Statement(src.get(), "BEGIN").run(); !st.ok()) return st.error();
  if (auto st = pg.exec("BEGIN"); !st.ok()) return pg_error(st.error());
  // Refuse a database with data (the rows the schema makes are not data).
  for (const auto& t : kMigratedTables) {
    if (replaced(t.table)) continue;
    auto n = pg.query((std::string("SELECT count(*) FROM ") + t.table).c_str());
    if (!n) return pg_error(n.error());
    if (n->i64(0, 0) > 0) {
      (void)pg.exec("ROLLBACK");
      return Error(ErrorCode::kInvalidInput,
                   "the PostgreSQL database at " + where + " is not empty: its table " + t.table +
                       " has " + std::to_string(n->i64(0, 0)) +
                       " rows; migrate copies only into an empty database (CREATE DATABASE "
                       "a new one and name it in --to)");
    }
  }
  for (const char* t : kReplaced) {
    if (auto st = pg.exec(std::string("DELETE FROM ") + t); !st.ok()) return pg_error(st.error());
  }

  std::vector<MigratedTable> out;
  for (const auto& t : kMigratedTables) {
    const std::string copy_sql =
        std::string("COPY ") + t.table + "(" + t.columns + ") FROM STDIN";
    sqlite::Statement s(src.get(), t.select);
    const int columns =
        1 + static_cast<int>(std::string_view(t.columns).find(',') == std::string_view::npos
                                 ? 0
                                 : std::count(t.columns, t.columns + std::strlen(t.columns), ','));
    std::string buf;
    std::int64_t rows = 0;
    while (true) {
      auto row = s.step();
      if (!row) return row.error();
      if (!*row) break;
      ++rows;
      for (int c = 0; c < columns; ++c) {
        if (c > 0) buf += '\t';
        if (s.is_null(c)) buf += "\\N";
        else pg::append_copy_field(buf, s.text_view(c));
      }
      buf += '\n';
      if (buf.size() >= kCopyBytes) {
        if (auto st = pg.copy_in(copy_sql.c_str(), buf); !st.ok()) return pg_error(st.error());
        buf.clear();
      }
    }
    if (!buf.empty()) {
      if (auto st = pg.copy_in(copy_sql.c_str(), buf); !st.ok()) return pg_error(st.error());
    }
    out.push_back({t.table, rows});
  }
  if (auto st = pg.exec(kFixUp); !st.ok()) return pg_error(st.error());

  // The counts, both sides.
  for (const auto& t : kMigratedTables) {
    auto theirs = sqlite_count(src.get(), t.source);
    if (!theirs) return theirs.error();
    auto ours = pg.query((std::string("SELECT count(*) FROM ") + t.table).c_str());
    if (!ours) return pg_error(ours.error());
    if (ours->i64(0, 0) != *theirs) {
      (void)pg.exec("ROLLBACK");
      return Error(ErrorCode::kCorrupt,
                   std::string("the copy of table ") + t.table + " has " +
                       std::to_string(ours->i64(0, 0)) + " rows, the SQLite database " +
                       std::to_string(*theirs) + "; nothing was copied");
    }
  }
  if (auto st = pg.exec("COMMIT"); !st.ok()) return pg_error(st.error());
  (void)sqlite::Statement(src.get(), "COMMIT").run();
  return out;
}

}  // namespace

}  // namespace stockwatch
