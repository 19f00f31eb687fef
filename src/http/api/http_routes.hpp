// The daemon's own answers: health (/healthz, /readyz), Prometheus metrics
// (/metrics) and the read-only JSON API (/api/inventory, /api/reports,
// /api/alerts). Which request reaches them, and who may ask, is decided
// by the Site (http/site.hpp) in front.
//
// Contract:
// - Runs on the HTTP thread only. It reads the database through its own
//   Storage connection (never the loader's), and the daemon's state through
//   a HealthSource that must be safe to call from that thread.
// - Every answer is the full GET response, body included; the server
//   strips the body for HEAD.
// - Listings are keyset-paginated: each page carries the cursor of the
//   next one, so a page is as cheap at the end of a large table as at the
//   start.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "http/http_server.hpp"

namespace stockwatch {

class Metrics;
class Storage;

// What the rest of the daemon is doing, for /healthz and /readyz.
struct DaemonHealth {
  std::chrono::steady_clock::time_point loop_tick{};  // the event loop's last heartbeat
  bool stopping = false;
  bool inbox_watched = false;   // the inbox folder exists and is watched (or polled)
  std::string inbox_mode;       // "inotify" or "poll"
  std::string inbox_path;
  std::uint64_t inbox_scans = 0;
  std::uint64_t inbox_overflows = 0;
  std::string mail_via;         // "smtp://host:port" or "maildir ..."
  std::string smtp_last_result; // empty until the first attempt
  bool smtp_last_ok = false;
  TimePoint smtp_last_at{};
  std::string node;             // this node's name (config node.name)
  // The daemon's own database connections that are lost, with why
  // (Storage::connection_problem), e.g. "loading: PostgreSQL ...".
  std::vector<std::string> database_problems;
  // The mailbox (reports by email); mailbox_via is empty when it is off.
  std::string mailbox_via;      // "imaps://host/INBOX as stok"
  bool mailbox_ok = true;       // the last look worked (or none was made yet)
  std::string mailbox_error;    // why the last look failed
  TimePoint mailbox_last_look{};  // the last look that worked
  bool mailbox_idle = false;    // news comes by IMAP IDLE (else it looks every poll_interval_s)
};
using HealthSource = std::function<DaemonHealth()>;

class HttpRoutes {
 public:
  HttpRoutes(Storage& storage, Metrics& metrics, HealthSource health);

  // A loop that has not ticked for this long makes /healthz fail.
  static constexpr std::chrono::seconds kLoopStall{10};

  [[nodiscard]] http::Response healthz();
  [[nodiscard]] http::Response readyz();
  [[nodiscard]] http::Response metrics();
  // One of the API's routes by its name under /api/ ("inventory"), with
  // the query as sent; nullopt for a name that is not one.
  [[nodiscard]] std::optional<http::Response> api(std::string_view name, const std::string& query);

 private:
  http::Response inventory(const std::string& query);
  http::Response reports(const std::string& query);
  http::Response alerts(const std::string& query);

  Storage& storage_;
  Metrics& metrics_;
  HealthSource health_;
};

// A JSON answer ({"error": message}) with its status.
[[nodiscard]] http::Response json_error(unsigned status, const std::string& message);

}  // namespace stockwatch
