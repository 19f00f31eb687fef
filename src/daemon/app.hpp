// The application: wires the stages together for each command.
//
// Contract:
// - Construction takes a validated Config; it throws (StorageError,
//   std::runtime_error) only for start-up failures such as a database that
//   cannot be opened or an inbox folder that does not exist.
// - serve() runs the daemon (daemon.hpp) on the calling thread until SIGINT
//   or SIGTERM and returns the process exit status.
// - backup() never opens the database for writing, so it works beside a
//   running daemon, even while a report is loading.
// - ingest() runs the same pipeline once over the given files, without the
//   event loop, and leaves the files where they are.
#pragma once

#include <filesystem>
#include <istream>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "config/config.hpp"

namespace stockwatch {

class App {
 public:
  App(Config config, const Clock& clock);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // The daemon. Returns 0 after a clean stop. `log_level` is a level given
  // on the command line: when set, it wins over log.level, at start and at
  // every SIGHUP reload.
  int serve(const std::optional<std::string>& log_level = std::nullopt);

  // One-shot: prints one line per report to `out`; returns 0 when every
  // report loaded (or was a duplicate), 1 when any was rejected, 2 on errors.
  int ingest(const std::vector<std::filesystem::path>& files, std::ostream& out);

  // `outbox` command: lists messages (queued and dead; all with include_sent).
  int list_outbox(bool include_sent, std::ostream& out);
  // `outbox retry`: queues dead messages again (all dead ones when ids is empty).
  int retry_outbox(const std::vector<std::int64_t>& ids, bool all_dead, std::ostream& out);
  // `backup DEST`: a consistent copy of the database, taken while the daemon
  // may be running (Storage::backup). Prints what it wrote to `out`, or the
  // problem to `err`; returns 0, or 1 when nothing was written.
  int backup(const std::filesystem::path& dest, std::ostream& out, std::ostream& err);
  // `migrate --to URL`: copies the SQLite database (storage.database) into
  // the empty PostgreSQL database `url` names (store/migrate.hpp), with
  // storage.password_file's password if set (else PGPASSWORD, ~/.pgpass).
  // Prints each table's rows and the settings to change to `out`, or the
  // problem to `err`; returns 0, or 1 when nothing was copied.
  int migrate(const std::string& url, std::ostream& out, std::ostream& err);
  // `send-test-email`: sends one test message now, through the configured
  // transport, to each address in `to` (every subscribed address when `to`
  // is empty), without the outbox and without opening the database. Prints
  // each outcome, with the server's reply and what to do about a failure;
  // returns 0 when every message was accepted, 1 otherwise.
  int send_test_email(const std::vector<std::string>& to, std::ostream& out);
  // `template`: writes the stock-count workbook of `store` to the new file
  // `output` (docs/templates.md), its headers and notes in `language`
  // ("en", "id"). Only reads the database, so a daemon may be running. Prints
  // what it wrote to `out`, or the problem to `err`; returns 0, or 1 when
  // nothing was written (an unknown store, a file that exists or cannot be
  // written).
  int write_template(const std::string& store, const std::filesystem::path& output,
                     const std::string& language, std::ostream& out, std::ostream& err);
  // `healthcheck`: GET /healthz of the daemon's own HTTP server (http.listen;
  // a wildcard address is reached through loopback), for container health
  // checks that have no curl. Prints the answer; returns 0 on 200, 1 on any
  // other answer or none within 5 s, 2 when http.listen is empty.
  int healthcheck(std::ostream& out);
  // `user add|list|passwd|remove`: the web console's accounts
  // (daemon/user_command.hpp); the password from `in` (a terminal when
  // `terminal`, without echo).
  int user(const struct UserCommand& command, std::istream& in, bool terminal, std::ostream& out,
           std::ostream& err);
  // `mute`, `unmute`, `mute --list` (daemon/mute_command.hpp).
  int mute(const struct MuteCommand& command, std::ostream& out, std::ostream& err);

 private:
  Config config_;
  const Clock& clock_;
};

}  // namespace stockwatch
