#include "store/sqlite/sqlite.hpp"

#include "store/storage.hpp"

namespace stockwatch::sqlite {

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

Statement::Statement(sqlite3* db, std::string_view sql) {
  auto prepared = prepare(db, sql);
  if (!prepared) {
    throw StorageError("cannot prepare statement (" + std::string(sql.substr(0, 60)) +
                       "...): " + sqlite3_errmsg(db));
  }
  *this = std::move(*prepared);
}

Result<Statement> Statement::prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  Statement s;
  s.db_ = db;
  s.s_.reset(raw);
  if (rc != SQLITE_OK) return error_from(db, rc, "cannot prepare statement");
  return s;
}

Result<bool> Statement::step() {
  if (bind_rc_ != SQLITE_OK) {
    const int rc = std::exchange(bind_rc_, SQLITE_OK);
    return Error(ErrorCode::kInternal, std::string("database bind: ") + sqlite3_errstr(rc));
  }
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

}  // namespace stockwatch::sqlite
