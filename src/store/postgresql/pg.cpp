#include "store/postgresql/pg.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <charconv>

namespace stockwatch::pg {

namespace {

std::string first_line(const char* msg) {
  std::string s = msg ? msg : "";
  if (const auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
  return s;
}

ErrorCode code_for(std::string_view sqlstate) {
  if (sqlstate == "55P03" /* lock_not_available */ || sqlstate == "40001" /* serialization */ ||
      sqlstate == "40P01" /* deadlock */ || sqlstate == "57014" /* query canceled (timeout) */) {
    return ErrorCode::kBusy;
  }
  if (sqlstate.starts_with("08") /* connection exception */ || sqlstate == "57P01" ||
      sqlstate == "57P02" || sqlstate == "57P03" /* admin shutdown, crash, cannot connect */) {
    return ErrorCode::kTransient;
  }
  if (sqlstate == kUniqueViolation) return ErrorCode::kInvalidInput;
  return ErrorCode::kInternal;
}

}  // namespace

std::int64_t PgResult::i64(int row, int col) const {
  const auto v = text_view(row, col);
  std::int64_t out = 0;
  std::from_chars(v.data(), v.data() + v.size(), out);
  return out;
}

std::int64_t PgResult::affected() const {
  const char* n = r_ ? PQcmdTuples(r_.get()) : "";
  std::int64_t out = 0;
  std::from_chars(n, n + std::char_traits<char>::length(n), out);
  return out;
}

std::vector<std::pair<std::string, std::string>> connection_params(const std::string& url,
                                                                  const std::string& password) {
  std::vector<std::pair<std::string, std::string>> params = {
      {"dbname", url},
      {"application_name", "stockwatch"},
      {"client_encoding", "UTF8"},
  };
  // Given only when libpq has no other default for it; a timeout in the
  // URL (connect_timeout=...) wins, because expand_dbname applies it after.
  params.insert(params.begin(), {"connect_timeout", "10"});
  if (!password.empty()) params.insert(params.begin(), {"password", password});
  return params;
}

Connection Connection::open(const std::vector<std::pair<std::string, std::string>>& params) {
  std::vector<const char*> keys, values;
  for (const auto& [k, v] : params) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  Connection c;
  c.c_.reset(PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1));
  // The server's notices (and the FATAL it sends a connection it ends)
  // go to the log, not to standard error as libpq's default would.
  if (c.c_) {
    PQsetNoticeProcessor(
        c.c_.get(),
        [](void*, const char* message) { spdlog::debug("PostgreSQL: {}", first_line(message)); },
        nullptr);
  }
  return c;
}

std::string Connection::error() const {
  if (!c_) return "out of memory";
  return first_line(PQerrorMessage(c_.get()));
}

Error Connection::failure(const PGresult* r, std::string_view what) const {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  last_sqlstate_ = state ? state : "";
  std::string msg = r ? first_line(PQresultErrorMessage(r)) : std::string();
  if (msg.empty()) msg = error();
  ErrorCode code = state ? code_for(state) : ErrorCode::kInternal;
  if (!state && (!c_ || PQstatus(c_.get()) != CONNECTION_OK)) code = ErrorCode::kTransient;
  std::string text = std::string(what) + ": " + msg;
  if (state) text += " (SQLSTATE " + std::string(state) + ")";
  return Error(code, std::move(text));
}

Status Connection::exec(const std::string& sql) const {
  PgResult r(PQexec(c_.get(), sql.c_str()));
  const auto st = r.get() ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return failure(r.get(), "query");
  last_sqlstate_.clear();
  return {};
}

namespace {
struct Params {
  std::vector<const char*> values;
  std::vector<int> lengths;
  explicit Params(const std::vector<Param>& ps) {
    for (const auto& p : ps) {
      values.push_back(p.data());
      lengths.push_back(p.size());
    }
  }
};
}  // namespace

Result<PgResult> Connection::query(const char* sql, const std::vector<Param>& params) const {
  const Params p(params);
  PgResult r(PQexecParams(c_.get(), sql, static_cast<int>(params.size()), nullptr,
                          p.values.data(), p.lengths.data(), nullptr, 0));
  const auto st = r.get() ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return failure(r.get(), "query");
  last_sqlstate_.clear();
  return r;
}

Status Connection::prepare(const char* name, const char* sql) const {
  PgResult r(PQprepare(c_.get(), name, sql, 0, nullptr));
  if (!r.get() || PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
    return failure(r.get(), std::string("preparing ") + name);
  }
  return {};
}

Result<PgResult> Connection::run(const char* name, const std::vector<Param>& params) const {
  const Params p(params);
  PgResult r(PQexecPrepared(c_.get(), name, static_cast<int>(params.size()), p.values.data(),
                            p.lengths.data(), nullptr, 0));
  const auto st = r.get() ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return failure(r.get(), name);
  last_sqlstate_.clear();
  return r;
}

Status Connection::copy_in(const char* copy_sql, std::string_view data) const {
  {
    PgResult r(PQexec(c_.get(), copy_sql));
    if (!r.get() || PQresultStatus(r.get()) != PGRES_COPY_IN) return failure(r.get(), "COPY");
  }
  // Sent in pieces of at most 1 MiB (libpq buffers what the socket cannot
  // take yet).
  constexpr std::size_t kPiece = 1 << 20;
  std::string_view rest = data;
  const char* send_error = nullptr;
  while (!rest.empty()) {
    const std::size_t n = std::min(rest.size(), kPiece);
    if (PQputCopyData(c_.get(), rest.data(), static_cast<int>(n)) != 1) {
      send_error = "cannot send COPY data";
      break;
    }
    rest.remove_prefix(n);
  }
  if (PQputCopyEnd(c_.get(), send_error) != 1) {
    return Error(ErrorCode::kTransient, "COPY: " + error());
  }
  // The COPY's outcome, then the end of its results.
  Status outcome;
  while (true) {
    PgResult r(PQgetResult(c_.get()));
    if (!r.get()) break;
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK && outcome.ok()) {
      outcome = failure(r.get(), "COPY");
    }
  }
  return outcome;
}

void append_copy_field(std::string& out, std::string_view s) {
  // Names seldom hold any of the four bytes COPY escapes: such a name is
  // appended whole, and runs of plain bytes in the others.
  static constexpr auto kEscaped = [] {
    std::array<bool, 256> t{};
    t['\\'] = t['\t'] = t['\n'] = t['\r'] = true;
    return t;
  }();
  std::size_t plain = 0;
  while (plain < s.size() && !kEscaped[static_cast<unsigned char>(s[plain])]) ++plain;
  if (plain == s.size()) {
    out.append(s);
    return;
  }
  std::size_t from = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char* escaped = nullptr;
    switch (s[i]) {
      case '\\': escaped = "\\\\"; break;
      case '\t': escaped = "\\t"; break;
      case '\n': escaped = "\\n"; break;
      case '\r': escaped = "\\r"; break;
      default: continue;
    }
    out.append(s.data() + from, i - from);
    out += escaped;
    from = i + 1;
  }
  out.append(s.data() + from, s.size() - from);
}

}  // namespace stockwatch::pg
