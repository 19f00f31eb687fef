// A real PostgreSQL 15 for the tests: one server per test binary run, in a
// temporary folder, reached only through a Unix socket in that folder, and
// a fresh database for each test that asks for one.
//
// Contract:
// - PgTestServer::instance() starts the server the first time it is called
//   (initdb + pg_ctl start from Debian's postgresql-15, in
//   /usr/lib/postgresql/15/bin; never anything on PATH) and throws
//   std::runtime_error, with the server's log, when it cannot. Listing the
//   tests (gtest_discover_tests) starts nothing.
// - initdb refuses to run as root, and the tests run as root in CI: as root,
//   the folder is given to `nobody` (uid/gid 65534) and initdb, pg_ctl and
//   the server run as that user; otherwise they run as the caller. The test
//   itself connects as the database superuser "stockwatch" (trust
//   authentication, which only the socket in the private folder can reach).
// - The server stops, and the folder is removed, when the process ends,
//   however it ends: a watchdog process (a shell waiting for end of file on
//   a pipe whose only writer is this process) runs `pg_ctl stop -m
//   immediate` and removes the folder once the pipe closes. A normal exit
//   closes the pipe from the singleton's destructor and waits for that.
// - Not thread-safe: call it from the test's main thread (SetUp).
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace stockwatch::test {

class PgTestServer {
 public:
  static constexpr const char* kBin = "/usr/lib/postgresql/15/bin";
  static constexpr const char* kUser = "stockwatch";  // the superuser initdb creates

  // The server, started on first use.
  static PgTestServer& instance() {
    static PgTestServer server;
    return server;
  }

  PgTestServer(const PgTestServer&) = delete;
  PgTestServer& operator=(const PgTestServer&) = delete;
  ~PgTestServer() { stop(); }

  // The folder that holds the data, the log and the socket.
  [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }

  // A libpq connection string (keyword form) for database `db`.
  [[nodiscard]] std::string conninfo(const std::string& db) const {
    return "host=" + dir_.string() + " port=" + std::to_string(kPort) + " user=" + kUser +
           " dbname=" + db;
  }
  // The same as a URL: postgresql://stockwatch@/<db>?host=<dir>&port=...
  [[nodiscard]] std::string url(const std::string& db) const {
    return std::string("postgresql://") + kUser + "@/" + db + "?host=" + dir_.string() +
           "&port=" + std::to_string(kPort);
  }

  // Creates a new, empty database and returns its name.
  std::string fresh_database() {
    static std::atomic<int> n{0};
    const std::string name = "test_" + std::to_string(::getpid()) + "_" + std::to_string(++n);
    run_as_self({std::string(kBin) + "/createdb", "-h", dir_.string(), "-p",
                 std::to_string(kPort), "-U", kUser, name});
    return name;
  }

  // Runs a command as the caller; throws with its output when it fails.
  void run_as_self(const std::vector<std::string>& argv) const { run(argv, false); }

  // Stops the server and removes the folder (also done at exit).
  void stop() {
    if (watchdog_ <= 0) return;
    ::close(watchdog_pipe_);
    int status = 0;
    while (::waitpid(watchdog_, &status, 0) < 0 && errno == EINTR) {
    }
    watchdog_ = -1;
  }

 private:
  static constexpr int kPort = 5432;  // only a socket file name: nothing listens on TCP

  PgTestServer() {
    char pattern[] = "/tmp/stockwatch-pg-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    if (::geteuid() == 0) {
      const passwd* pw = ::getpwnam("nobody");
      uid_ = pw ? pw->pw_uid : 65534;
      gid_ = pw ? pw->pw_gid : 65534;
      if (::chown(dir_.c_str(), uid_, gid_) != 0) {
        throw std::runtime_error("cannot give " + dir_.string() + " to nobody");
      }
      drop_ = true;
    }
    start_watchdog();
    const std::string data = (dir_ / "data").string();
    run({std::string(kBin) + "/initdb", "-D", data, "-U", kUser, "-A", "trust", "-E", "UTF8",
         "--locale=C", "--no-sync"},
        drop_);
    // Only the socket in the private folder; no durability needed for tests.
    std::ofstream conf(dir_ / "data" / "postgresql.conf", std::ios::app);
    conf << "\nlisten_addresses = ''\n"
         << "unix_socket_directories = '" << dir_.string() << "'\n"
         << "port = " << kPort << "\n"
         << "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
         << "max_connections = 50\nshared_buffers = 32MB\n";
    conf.close();
    run({std::string(kBin) + "/pg_ctl", "start", "-w", "-t", "60", "-D", data, "-l",
         (dir_ / "server.log").string()},
        drop_);
  }

  // The watchdog: a shell that reads its standard input (the pipe) to end
  // of file, then stops the server and removes the folder. It runs in its
  // own session, so a signal to this process group does not stop it first.
  void start_watchdog() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    const std::string script =
        "cat >/dev/null; "
        "if [ -f \"$1/data/postmaster.pid\" ]; then " +
        std::string(drop_ ? "setpriv --reuid=" + std::to_string(uid_) + " --regid=" +
                                std::to_string(gid_) + " --clear-groups "
                          : "") +
        std::string(kBin) + "/pg_ctl stop -m immediate -D \"$1/data\" >/dev/null 2>&1; fi; " +
        "rm -rf \"$1\"";
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      ::setsid();
      ::dup2(fds[0], 0);
      const int null = ::open("/dev/null", O_WRONLY);
      if (null >= 0) {
        ::dup2(null, 1);
        ::dup2(null, 2);
      }
      ::execl("/bin/sh", "sh", "-c", script.c_str(), "pg-watchdog", dir_.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[0]);
    watchdog_ = pid;
    watchdog_pipe_ = fds[1];
  }

  // Runs argv (a full path first), as `nobody` when `drop`, with its output
  // in the folder's command.log; throws with that output when it fails.
  void run(const std::vector<std::string>& argv, bool drop) const {
    const std::string log = (dir_ / "command.log").string();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (out >= 0) {
        ::dup2(out, 1);
        ::dup2(out, 2);
      }
      if (drop) {
        if (::setgroups(0, nullptr) != 0 || ::setgid(gid_) != 0 || ::setuid(uid_) != 0) {
          ::_exit(126);
        }
      }
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::ostringstream msg;
      msg << argv[0] << " failed (status " << status << "):\n"
          << std::ifstream(log).rdbuf();
      std::ifstream server_log(dir_ / "server.log");
      if (server_log) msg << "\nserver log:\n" << server_log.rdbuf();
      throw std::runtime_error(msg.str());
    }
  }

  std::filesystem::path dir_;
  bool drop_ = false;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  pid_t watchdog_ = -1;
  int watchdog_pipe_ = -1;
};

}  // namespace stockwatch::test
