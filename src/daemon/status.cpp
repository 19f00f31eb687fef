#include "daemon/status.hpp"

#include "os/systemd_notify.hpp"

namespace stockwatch {

void StatusBoard::set_loading(const std::string& name) {
  {
    std::lock_guard lock(mu_);
    loading_ = name;
  }
  publish();
}

void StatusBoard::set_outbox(const OutboxCounts& counts) {
  std::lock_guard lock(mu_);
  outbox_ = counts;
}

void StatusBoard::set_reports_today(std::int64_t n) {
  std::lock_guard lock(mu_);
  reports_today_ = n;
}

void StatusBoard::add_report_today() {
  std::lock_guard lock(mu_);
  ++reports_today_;
}

bool StatusBoard::set_inbox(const InboxStats& s) {
  std::lock_guard lock(mu_);
  if (health_.inbox_overflows == s.overflows && health_.inbox_watched == s.root_present) {
    return false;
  }
  health_.inbox_overflows = s.overflows;
  health_.inbox_watched = s.root_present;
  return true;
}

void StatusBoard::heartbeat(const InboxStats& s) {
  std::lock_guard lock(mu_);
  health_.loop_tick = std::chrono::steady_clock::now();
  health_.inbox_mode = s.polling ? "poll" : "inotify";
  health_.inbox_scans = s.scans;
}

void StatusBoard::set_inbox_path(const std::string& path) {
  std::lock_guard lock(mu_);
  health_.inbox_path = path;
}

void StatusBoard::set_connection(const std::string& which,
                                 const std::optional<std::string>& problem) {
  std::lock_guard lock(mu_);
  if (problem) connection_problems_[which] = which + ": " + *problem;
  else connection_problems_.erase(which);
  health_.database_problems.clear();
  for (const auto& [name, text] : connection_problems_) health_.database_problems.push_back(text);
}

void StatusBoard::set_node(const std::string& node) {
  std::lock_guard lock(mu_);
  health_.node = node;
}

void StatusBoard::set_mail_via(const std::string& via) {
  std::lock_guard lock(mu_);
  health_.mail_via = via;
}

void StatusBoard::set_mail_result(const MailerStep& step, TimePoint at) {
  if (step.last_result.empty()) return;
  std::lock_guard lock(mu_);
  health_.smtp_last_result = step.last_result;
  health_.smtp_last_ok = step.last_sent;
  health_.smtp_last_at = at;
}

void StatusBoard::set_mailbox(const std::string& via, bool ok, const std::string& error,
                              TimePoint at, bool idle) {
  std::lock_guard lock(mu_);
  health_.mailbox_via = via;
  health_.mailbox_ok = ok;
  health_.mailbox_error = error;
  if (at.time_since_epoch().count() != 0) health_.mailbox_last_look = at;
  health_.mailbox_idle = idle;
}

DaemonHealth StatusBoard::health() const {
  std::lock_guard lock(mu_);
  DaemonHealth h = health_;
  h.stopping = stopping_;
  return h;
}

std::string StatusBoard::line() const {
  std::lock_guard lock(mu_);
  return line_locked();
}

std::string StatusBoard::line_locked() const {
  std::string line;
  if (!loading_.empty()) line = "loading " + loading_ + "; ";
  line += std::to_string(reports_today_) + (reports_today_ == 1 ? " report" : " reports") +
          " today, outbox: " + std::to_string(outbox_.queued) + " queued, " +
          std::to_string(outbox_.dead) + " dead";
  if (!health_.inbox_watched) line += ", inbox folder missing";
  if (health_.inbox_overflows > 0) {
    line += ", inbox overflows: " + std::to_string(health_.inbox_overflows);
  }
  return line;
}

void StatusBoard::publish() {
  if (stopping_) return;
  std::lock_guard lock(mu_);
  auto line = line_locked();
  if (line == last_line_) return;
  last_line_ = std::move(line);
  systemd::status(last_line_);
}

void StatusBoard::ready() {
  if (stopping_) return;
  std::lock_guard lock(mu_);
  last_line_ = line_locked();
  systemd::ready(last_line_);
}

}  // namespace stockwatch
