// Private to the storage module: move-only RAII owners for libpq handles,
// and the few calls the PostgreSQL backend makes through them.
//
// Why libpq and not libpqxx: the backend needs exactly what libpq's C API
// gives (parameters sent as text with PQexecParams, COPY FROM STDIN with
// PQputCopyData, SQLSTATE codes, a socket for LISTEN later), the project
// owns every other C handle the same way (sqlite3, CURL), and libpq is the
// library every PostgreSQL installation ships (libpq5): libpqxx would add a
// second dependency, exceptions as its error style (stockwatch returns
// errors as values), and a wrapper over the wrapper below.
//
// Contract:
// - Connection owns a PGconn* and finishes it; it takes ownership before
//   the connection's status is checked, because libpq returns a handle
//   (holding the error message) even when connecting fails.
// - PgResult owns a PGresult* and clears it.
// - Errors become Error values: the SQLSTATE picks the code (lock timeout,
//   serialization failure, deadlock -> kBusy; connection lost -> kTransient;
//   unique violation -> kInvalidInput; the rest kInternal) and the message
//   is libpq's, first line. Nothing here throws.
// - Not thread-safe: one Connection per thread.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace stockwatch::pg {

struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultClearer {
  void operator()(PGresult* r) const { PQclear(r); }
};

// SQLSTATEs the backend tells apart.
inline constexpr std::string_view kUniqueViolation = "23505";
inline constexpr std::string_view kReadOnlyTransaction = "25006";

// One query's result: rows of text values.
class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(PGresult* r) : r_(r) {}
  [[nodiscard]] PGresult* get() const { return r_.get(); }
  [[nodiscard]] int rows() const { return r_ ? PQntuples(r_.get()) : 0; }
  [[nodiscard]] bool is_null(int row, int col) const { return PQgetisnull(r_.get(), row, col); }
  [[nodiscard]] std::string_view text_view(int row, int col) const {
    return {PQgetvalue(r_.get(), row, col),
            static_cast<std::size_t>(PQgetlength(r_.get(), row, col))};
  }
  [[nodiscard]] std::string text(int row, int col) const { return std::string(text_view(row, col)); }
  [[nodiscard]] std::int64_t i64(int row, int col) const;  // 0 for NULL
  [[nodiscard]] std::optional<std::int64_t> opt_i64(int row, int col) const {
    if (is_null(row, col)) return std::nullopt;
    return i64(row, col);
  }
  // The number of rows an INSERT/UPDATE/DELETE touched.
  [[nodiscard]] std::int64_t affected() const;

 private:
  std::unique_ptr<PGresult, ResultClearer> r_;
};

// A query parameter: text, or NULL. Integers are sent as their decimal text.
class Param {
 public:
  Param() = default;  // NULL
  Param(std::string_view s) : value_(s), null_(false) {}  // NOLINT: implicit by design
  Param(const std::string& s) : value_(s), null_(false) {}  // NOLINT
  Param(const char* s) : value_(s), null_(false) {}  // NOLINT
  Param(std::int64_t v) : value_(std::to_string(v)), null_(false) {}  // NOLINT
  Param(int v) : Param(static_cast<std::int64_t>(v)) {}  // NOLINT
  Param(long long v) : Param(static_cast<std::int64_t>(v)) {}  // NOLINT
  Param(const std::optional<std::int64_t>& v) {  // NOLINT
    if (v) {
      value_ = std::to_string(*v);
      null_ = false;
    }
  }
  [[nodiscard]] const char* data() const { return null_ ? nullptr : value_.data(); }
  [[nodiscard]] int size() const { return static_cast<int>(value_.size()); }

 private:
  std::string value_;
  bool null_ = true;
};

class Connection {
 public:
  Connection() = default;
  // Connects with libpq's keyword/value pairs (expand_dbname: `dbname` may
  // be a URL or a connection string). Always returns a Connection; check
  // ok() and error().
  static Connection open(const std::vector<std::pair<std::string, std::string>>& params);
  Connection(Connection&&) noexcept = default;
  Connection& operator=(Connection&&) noexcept = default;

  [[nodiscard]] PGconn* get() const { return c_.get(); }
  [[nodiscard]] bool ok() const { return c_ && PQstatus(c_.get()) == CONNECTION_OK; }
  // libpq's message for the last failure, first line.
  [[nodiscard]] std::string error() const;
  // The SQLSTATE of the last statement that failed on the server (empty
  // when the last failure had none); reset by each statement that succeeds.
  [[nodiscard]] const std::string& last_sqlstate() const { return last_sqlstate_; }

  // Runs `sql` (no parameters; several statements allowed) and discards
  // any rows.
  [[nodiscard]] Status exec(const std::string& sql) const;
  // Runs one statement with parameters ($1, $2, ...), sent as text.
  [[nodiscard]] Result<PgResult> query(const char* sql, const std::vector<Param>& params = {}) const;
  // Prepares `sql` under `name` on this connection.
  [[nodiscard]] Status prepare(const char* name, const char* sql) const;
  // Runs the statement prepared under `name`.
  [[nodiscard]] Result<PgResult> run(const char* name, const std::vector<Param>& params = {}) const;
  // Sends `data` (COPY's text format, lines ending in \n) to `copy_sql`, a
  // COPY ... FROM STDIN statement.
  [[nodiscard]] Status copy_in(const char* copy_sql, std::string_view data) const;

 private:
  std::unique_ptr<PGconn, ConnCloser> c_;
  mutable std::string last_sqlstate_;
  [[nodiscard]] Error failure(const PGresult* r, std::string_view what) const;
};

// libpq's keyword/value pairs for stockwatch's connections to `url`: its
// application name, UTF-8, a 10 s connect timeout unless the URL gives
// one, and `password` when not empty.
[[nodiscard]] std::vector<std::pair<std::string, std::string>> connection_params(
    const std::string& url, const std::string& password);

// Appends `s` to `out` as one field of COPY's text format (backslash,
// tab, newline and carriage return escaped).
void append_copy_field(std::string& out, std::string_view s);

}  // namespace stockwatch::pg
