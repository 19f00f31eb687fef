// The daemon: the event loop and two worker strands, wired to the stages.
//
// Contract:
// - run() starts everything, runs the loop on the calling thread until
//   SIGINT or SIGTERM, and returns 0 after a clean stop. Start-up failures
//   (a database that cannot be opened, a missing inbox folder) throw.
// - Threads: the loop thread owns the Inbox, the signals, the timers and
//   the status heartbeat; the report stage (load, archive, check) runs on
//   one worker strand with its own database connection, the mail stage on
//   another with its own. Results are posted back to the loop. The stages
//   themselves are plain steppable code (src/pipeline/); this class only
//   decides when each step runs.
// - Every handler given to Asio is wrapped by guarded(): an exception is
//   logged and the daemon goes on.
// - SIGHUP reloads the configuration (see reload.hpp for what changes).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "base/clock.hpp"
#include "config/config.hpp"

namespace stockwatch {

class Daemon {
 public:
  // `log_level`, when set, is the command line's level: it wins over
  // log.level, at start and at every reload.
  Daemon(Config config, const Clock& clock, std::optional<std::string> log_level);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  int run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stockwatch
