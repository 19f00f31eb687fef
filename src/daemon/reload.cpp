#include "daemon/reload.hpp"

namespace stockwatch {

namespace {

// Keeps the running value of one restart-only setting, and names it when
// the new file changed it.
template <class T>
void keep(const char* key, const T& running, T& next, std::vector<std::string>& changed) {
  if (next == running) return;
  changed.emplace_back(key);
  next = running;
}

}  // namespace

ReloadPlan plan_reload(const Config& running, const Config& fresh) {
  ReloadPlan plan{fresh, {}};
  Config& n = plan.next;
  auto& out = plan.needs_restart;
  keep("storage.backend", running.storage.backend, n.storage.backend, out);
  keep("storage.database", running.storage.database, n.storage.database, out);
  keep("storage.url", running.storage.url, n.storage.url, out);
  keep("storage.password_file", running.storage.password_file, n.storage.password_file, out);
  keep("storage.synchronous", running.storage.synchronous, n.storage.synchronous, out);
  keep("storage.busy_timeout_ms", running.storage.busy_timeout_ms, n.storage.busy_timeout_ms, out);
  keep("inbox.path", running.inbox.path, n.inbox.path, out);
  keep("inbox.processed", running.inbox.processed, n.inbox.processed, out);
  keep("inbox.failed", running.inbox.failed, n.inbox.failed, out);
  keep("inbox.mode", running.inbox.mode, n.inbox.mode, out);
  keep("inbox.settle_ms", running.inbox.settle_ms, n.inbox.settle_ms, out);
  keep("inbox.poll_interval_ms", running.inbox.poll_interval_ms, n.inbox.poll_interval_ms, out);
  keep("inbox.rescan_interval_s", running.inbox.rescan_interval_s, n.inbox.rescan_interval_s, out);
  keep("inbox.write_timeout_s", running.inbox.write_timeout_s, n.inbox.write_timeout_s, out);
  keep("inbox.shared", running.inbox.shared, n.inbox.shared, out);
  keep("node.name", running.node.name, n.node.name, out);
  keep("http.listen", running.http.listen, n.http.listen, out);
  keep("http.read_timeout_s", running.http.read_timeout_s, n.http.read_timeout_s, out);
  keep("http.max_connections", running.http.max_connections, n.http.max_connections, out);
  keep("http.multipart_max_age_h", running.http.multipart_max_age_h,
       n.http.multipart_max_age_h, out);
  return plan;
}

std::string join_keys(const std::vector<std::string>& keys) {
  std::string out;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) out += i + 1 == keys.size() ? " and " : ", ";
    out += keys[i];
  }
  return out;
}

}  // namespace stockwatch
