#include "store/postgresql/pg_listener.hpp"

#include <memory>

#include "text/masked_password.hpp"

namespace stockwatch {

std::unique_ptr<PgListener> PgListener::open(const std::string& url,
                                             const StorageOptions& options) {
  std::vector<std::pair<std::string, std::string>> params = {
      {"connect_timeout", "10"},
      {"dbname", url},
      {"application_name", "stockwatch"},
      {"client_encoding", "UTF8"},
  };
  if (!options.password.empty()) params.insert(params.begin(), {"password", options.password});
  const std::string where = mask_password(url);
  auto conn = pg::Connection::open(params);
  if (!conn.ok()) {
    throw StorageError("cannot connect to PostgreSQL at " + where + ": " + conn.error());
  }
  if (auto st = conn.exec(std::string("LISTEN ") + kOutboxChannel); !st.ok()) {
    throw StorageError("PostgreSQL " + where + ": " + st.message());
  }
  if (PQsetnonblocking(conn.get(), 1) != 0) {
    throw StorageError("PostgreSQL " + where + ": cannot make the connection non-blocking");
  }
  return std::unique_ptr<PgListener>(new PgListener(std::move(conn), where));
}

int PgListener::fd() const { return PQsocket(conn_.get()); }

Result<int> PgListener::drain() {
  if (PQconsumeInput(conn_.get()) != 1 || PQstatus(conn_.get()) != CONNECTION_OK) {
    return Error(ErrorCode::kTransient,
                 "PostgreSQL " + where_ + ": the connection that listens for queued mail is "
                 "lost: " + conn_.error());
  }
  int n = 0;
  while (PGnotify* note = PQnotifies(conn_.get())) {
    ++n;
    PQfreemem(note);
  }
  return n;
}

}  // namespace stockwatch
