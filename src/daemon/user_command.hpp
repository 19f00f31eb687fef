// `stockwatch user ...`: the web console's accounts from the command line
// (add, list, passwd, remove), beside a running daemon.
//
// Contract:
// - Opens the database like `ingest` (Storage::open migrates it, then an
//   AccountStore), never the daemon's instance lock, so it works while the
//   daemon runs; a change is seen by the daemon's next request. Changing a
//   password or removing an account signs it out everywhere.
// - A password is read from `in`, never from the command line: with
//   `terminal` set, the terminal's echo is turned off and it is asked
//   twice; otherwise the first line is the password.
// - Returns the exit status: 0 done, 1 refused (a taken or unknown name, a
//   short password), 2 an error; prints the outcome to `out`, problems to
//   `err`.
#pragma once

#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "config/config.hpp"

namespace stockwatch {

struct UserCommand {
  std::string action;                 // "add", "list", "passwd", "remove"
  std::string name;
  std::string role = "manager";       // add: "owner" or "manager"
  std::vector<std::string> stores;    // add: a manager's stores
};

int run_user_command(const Config& config, const Clock& clock, const UserCommand& command,
                     std::istream& in, bool terminal, std::ostream& out, std::ostream& err);

}  // namespace stockwatch
