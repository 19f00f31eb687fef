// Private to the storage module: move-only RAII owners for SQLite handles.
//
// Database owns a sqlite3* and closes it; it takes ownership before the open
// result is checked, because SQLite returns a handle even when opening
// fails. Statement owns a sqlite3_stmt*. Neither is thread-safe.
// A failed bind (a parameter out of range, out of memory) is remembered and
// returned by the next step(), so chained binds need no check of their own.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace stockwatch::sqlite {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};

// SQLITE_BUSY/LOCKED -> kBusy, SQLITE_FULL/IOERR -> kIo, the rest kInternal.
Error error_from(sqlite3* db, int rc, std::string_view what);

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, std::string_view sql);  // throws StorageError on a bad statement
  Statement(sqlite3* db, const char* sql) : Statement(db, std::string_view(sql)) {}
  Statement(sqlite3* db, const std::string& sql) : Statement(db, std::string_view(sql)) {}
  // The same without throwing: a bad statement, or a busy or failing
  // database, is the returned error (error_from()). For statements prepared
  // inside an operation.
  [[nodiscard]] static Result<Statement> prepare(sqlite3* db, std::string_view sql);
  Statement(Statement&&) noexcept = default;
  Statement& operator=(Statement&&) noexcept = default;

  Statement& bind(int i, std::int64_t v) { return check(sqlite3_bind_int64(s_.get(), i, v)); }
  Statement& bind(int i, long long v) { return check(sqlite3_bind_int64(s_.get(), i, v)); }
  Statement& bind(int i, int v) { return check(sqlite3_bind_int64(s_.get(), i, v)); }
  Statement& bind(int i, std::string_view v) {
    return check(
        sqlite3_bind_text(s_.get(), i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC));
  }
  Statement& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  // Text is bound without a copy (SQLITE_STATIC): it must outlive the step,
  // so a temporary string, gone before the step, does not compile.
  Statement& bind(int i, std::string&& v) = delete;
  Statement& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  Statement& bind_null(int i) { return check(sqlite3_bind_null(s_.get(), i)); }
  Statement& bind(int i, const std::optional<std::int64_t>& v) {
    return v ? bind(i, *v) : bind_null(i);
  }

  // SQLITE_ROW -> true, SQLITE_DONE -> false, anything else -> Error.
  [[nodiscard]] Result<bool> step();
  // step() to completion for statements without rows; resets afterwards.
  [[nodiscard]] Status run();
  // The same, but keeps the bound values: for a statement whose every
  // parameter is bound again before each run (clearing hundreds of them
  // costs as much as a fifth of binding them).
  [[nodiscard]] Status run_rebound();
  void reset() {
    sqlite3_reset(s_.get());
    sqlite3_clear_bindings(s_.get());
    bind_rc_ = SQLITE_OK;
  }

  [[nodiscard]] std::int64_t i64(int col) const { return sqlite3_column_int64(s_.get(), col); }
  [[nodiscard]] bool is_null(int col) const { return sqlite3_column_type(s_.get(), col) == SQLITE_NULL; }
  [[nodiscard]] std::optional<std::int64_t> opt_i64(int col) const {
    if (is_null(col)) return std::nullopt;
    return i64(col);
  }
  // Valid until the next step() or reset() of this statement.
  [[nodiscard]] std::string_view text_view(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_.get(), col));
    return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(s_.get(), col)))
             : std::string_view();
  }
  [[nodiscard]] std::string text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_.get(), col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_.get(), col))) : std::string();
  }

 private:
  sqlite3* db_ = nullptr;
  std::unique_ptr<sqlite3_stmt, StmtFinalizer> s_;
  int bind_rc_ = SQLITE_OK;  // the first failed bind since the last step or reset
  Statement& check(int rc) {
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
    return *this;
  }
};

// Resets a statement when it leaves scope, so an early return never leaves
// it holding a read transaction open.
class ResetGuard {
 public:
  explicit ResetGuard(Statement& s) : s_(s) {}
  ~ResetGuard() { s_.reset(); }
  ResetGuard(const ResetGuard&) = delete;
  ResetGuard& operator=(const ResetGuard&) = delete;

 private:
  Statement& s_;
};

}  // namespace stockwatch::sqlite
