// What a SIGHUP may change in a running daemon.
//
// Contract: plan_reload() compares the running configuration with a freshly
// loaded, valid one. Settings the running daemon holds open or was built
// around (the database, the inbox folders and how they are watched, the
// HTTP listener) change only at a restart: the plan keeps their running
// values and names each one that differs, by its key ("inbox.settle_ms"),
// so the daemon can warn about exactly those. Everything else (alerts,
// smtp, report, log, mailbox, the upload settings, inbox.archive and
// inbox.max_report_bytes) is taken from the new file. Pure; any thread.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace stockwatch {

struct ReloadPlan {
  Config next;                               // what the daemon runs with after the reload
  std::vector<std::string> needs_restart;    // restart-only keys whose value differs
};

[[nodiscard]] ReloadPlan plan_reload(const Config& running, const Config& fresh);

// "a, b and c": the keys for a log line.
[[nodiscard]] std::string join_keys(const std::vector<std::string>& keys);

}  // namespace stockwatch
