// How the daemon's log lines are written: one formatter for every message.
//
// Contract: the message text of every log call goes through
// append_for_log() (text/printable.hpp) here, whatever it holds, so text
// from outside (file names, object keys, header cells, client addresses)
// can never start a line of its own or pass for another. Log calls need no
// escaping of their own. Thread-safe as spdlog formatters are (each sink
// has its own clone).
#pragma once

#include <memory>
#include <string>

#include <spdlog/formatter.h>

namespace stockwatch {

// `journal`: lines for the systemd journal ("<6> message": the journal adds
// the time and reads the level from the prefix); otherwise
// "2026-11-25 17:37:04.397 info  message". A `node` name, when given, goes
// before the message: "info  [node-a] message" ("<6> [node-a] message").
[[nodiscard]] std::unique_ptr<spdlog::formatter> make_log_formatter(bool journal,
                                                                    const std::string& node = {});

}  // namespace stockwatch
