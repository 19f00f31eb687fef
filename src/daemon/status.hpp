// What the daemon says about itself: the STATUS= line systemd shows
// ("loading a.csv; 3 reports today, outbox: 0 queued, 0 dead") and the
// state /healthz and /readyz read.
//
// Contract: every method may be called from any thread (one mutex inside).
// publish() sends STATUS= only when the line changed, and nothing once
// `stopping` (given at construction, owned by the daemon) is set. The
// board never touches the database: the daemon gives it what the stages
// learned.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "base/clock.hpp"
#include "http/api/http_routes.hpp"
#include "inbox/inbox.hpp"
#include "notify/mailer.hpp"
#include "store/storage.hpp"

namespace stockwatch {

class StatusBoard {
 public:
  explicit StatusBoard(const std::atomic<bool>& stopping) : stopping_(stopping) {}
  StatusBoard(const StatusBoard&) = delete;
  StatusBoard& operator=(const StatusBoard&) = delete;

  // The report being loaded (empty: none); publishes.
  void set_loading(const std::string& name);
  void set_outbox(const OutboxCounts& counts);
  void set_reports_today(std::int64_t n);
  void add_report_today();
  // The inbox's watched state and overflows; whether they changed (then
  // publish() has news).
  bool set_inbox(const InboxStats& stats);
  // The loop's heartbeat (for /healthz) and the inbox's mode and scans.
  void heartbeat(const InboxStats& stats);
  void set_inbox_path(const std::string& path);
  void set_mail_via(const std::string& via);
  void set_node(const std::string& node);
  // Whether the daemon's connection `which` ("loading", "mail") is lost,
  // and why (Storage::connection_problem); /readyz reads them.
  void set_connection(const std::string& which, const std::optional<std::string>& problem);
  // The outcome of a mail step's last attempt, if it made one.
  void set_mail_result(const MailerStep& step, TimePoint at);
  // The mailbox: what it reads (empty: off), and how its last look went
  // (`at`: when a look last worked).
  void set_mailbox(const std::string& via, bool ok, const std::string& error, TimePoint at,
                   bool idle);

  [[nodiscard]] DaemonHealth health() const;
  [[nodiscard]] std::string line() const;

  // STATUS= when the line changed.
  void publish();
  // READY=1 with the line (at start and after a reload), unless stopping.
  void ready();

 private:
  [[nodiscard]] std::string line_locked() const;

  const std::atomic<bool>& stopping_;
  mutable std::mutex mu_;
  std::int64_t reports_today_ = 0;
  std::string loading_;
  OutboxCounts outbox_;
  std::string last_line_;
  DaemonHealth health_;
  std::map<std::string, std::string> connection_problems_;
};

}  // namespace stockwatch
