// The daemon's HTTP routes: health (/healthz, /readyz), Prometheus metrics
// (/metrics), the read-only JSON API (/api/inventory, /api/reports,
// /api/alerts) and, for every other path, the S3-compatible upload
// endpoint (S3Gateway).
//
// Contract:
// - Runs on the HTTP thread only. It reads the database through its own
//   Storage connection (never the loader's), and the daemon's state through
//   a HealthSource that must be safe to call from that thread.
// - /api/* and /metrics need "Authorization: Bearer <http.token>" when a
//   token is set (401 otherwise); /healthz and /readyz never do.
// - Listings are keyset-paginated: each page carries the cursor of the
//   next one, so a page is as cheap at the end of a large table as at the
//   start.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "base/clock.hpp"
#include "http/http_server.hpp"
#include "http/s3/s3_gateway.hpp"

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
};
using HealthSource = std::function<DaemonHealth()>;

class HttpRoutes final : public http::Handler {
 public:
  HttpRoutes(std::string token, Storage& storage, S3Gateway& s3, Metrics& metrics,
             HealthSource health);

  [[nodiscard]] http::Route route(const http::RequestHead& head, const std::string& remote) override;
  void on_done(const std::string& label, unsigned status, const http::RequestHead& head,
               const std::string& remote) override;

  void set_token(std::string token) { token_ = std::move(token); }

  // A loop that has not ticked for this long makes /healthz fail.
  static constexpr std::chrono::seconds kLoopStall{10};

 private:
  http::Response healthz();
  http::Response readyz();
  http::Response metrics();
  http::Response inventory(const std::string& query);
  http::Response reports(const std::string& query);
  http::Response alerts(const std::string& query);

  std::string token_;
  Storage& storage_;
  S3Gateway& s3_;
  Metrics& metrics_;
  HealthSource health_;
};

}  // namespace stockwatch
