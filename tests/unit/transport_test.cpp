// Mail transports: Maildir delivery on disk, and SMTP against a real SMTP
// server (tests/support/smtp_server.py, aiosmtpd) on a free loopback port.
#include "notify/transport.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#ifndef STOCKWATCH_PYTHON
#define STOCKWATCH_PYTHON "/usr/bin/python3"
#endif

namespace stockwatch {
namespace {

namespace fs = std::filesystem;

const std::string kMessage =
    "From: stockwatch@example.com\r\n"
    "To: alice@example.com\r\n"
    "Subject: Inventory Alert!\r\n"
    "\r\n"
    "Medan is out of stock of Robusta Dairi\r\n"
    ".a line that starts with a dot\r\n";

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(dir)) out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

// A scratch directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "stockwatch-transport-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A loopback port nothing listens on.
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

// ---------------------------------------------------------------------------
// Maildir

TEST(MaildirTransport, CreatesTheMaildirAndDeliversIntoNew) {
  TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  const fs::path maildir = tmp.path() / "var" / "mail";
  auto transport = make_maildir_transport(maildir.string());
  EXPECT_EQ(transport->describe(), "maildir " + maildir.string());

  const SendOutcome first =
      transport->send("stockwatch@example.com", "alice@example.com", kMessage);
  ASSERT_TRUE(first.sent()) << first.detail;
  const std::string second_data = kMessage + "second\r\n";
  const SendOutcome second =
      transport->send("stockwatch@example.com", "bob@example.com", second_data);
  ASSERT_TRUE(second.sent()) << second.detail;

  for (const char* sub : {"tmp", "new", "cur"}) {
    struct stat st {};
    ASSERT_EQ(::stat((maildir / sub).c_str(), &st), 0) << sub;
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0700U) << sub;
  }
  EXPECT_TRUE(files_in(maildir / "tmp").empty());
  EXPECT_TRUE(files_in(maildir / "cur").empty());

  const std::vector<fs::path> delivered = files_in(maildir / "new");
  ASSERT_EQ(delivered.size(), 2U);
  const std::regex name(R"(^\d+\.M\d+P\d+Q\d+\..+$)");
  std::vector<std::string> contents;
  for (const fs::path& file : delivered) {
    EXPECT_TRUE(std::regex_match(file.filename().string(), name)) << file;
    contents.push_back(read_file(file));
  }
  std::sort(contents.begin(), contents.end());
  // Written exactly as given: no Return-Path or Delivered-To added.
  EXPECT_EQ(contents[0], kMessage);
  EXPECT_EQ(contents[1], second_data);
}

TEST(MaildirTransport, DiskErrorsAreTransient) {
  TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  const fs::path file = tmp.path() / "not-a-directory";
  std::ofstream(file) << "x";
  auto transport = make_maildir_transport((file / "mail").string());
  const SendOutcome outcome = transport->send("a@example.com", "b@example.com", kMessage);
  EXPECT_EQ(outcome.kind, SendOutcome::Kind::kTransient);
  EXPECT_EQ(outcome.smtp_code, 0);
  EXPECT_NE(outcome.detail.find("Not a directory"), std::string::npos) << outcome.detail;
}

TEST(MakeTransport, SmtpWhenAUrlIsSetMaildirOtherwise) {
  SmtpConfig config;
  config.maildir = "/var/lib/stockwatch/mail";
  EXPECT_EQ(make_transport(config)->describe(), "maildir /var/lib/stockwatch/mail");
  config.url = "smtp://mail.example.com:587";
  EXPECT_EQ(make_transport(config)->describe(), "smtp://mail.example.com:587");
}

TEST(SmtpTransport, AUrlThatIsNotSmtpIsPermanent) {
  SmtpConfig config;
  config.url = "http://127.0.0.1:1/";
  const SendOutcome outcome =
      make_smtp_transport(config)->send("a@example.com", "b@example.com", kMessage);
  EXPECT_EQ(outcome.kind, SendOutcome::Kind::kPermanent) << outcome.detail;
}

TEST(SmtpTransport, DescriptionNeverShowsCredentials) {
  SmtpConfig config;
  config.url = "smtps://alerts:s3cret@mail.example.com:465";
  EXPECT_EQ(make_smtp_transport(config)->describe(), "smtps://mail.example.com:465");
}

// ---------------------------------------------------------------------------
// SMTP against a real server

// smtp:// to a loopback port, in clear text.
SmtpConfig loopback_config(int port, int connect_timeout_s, int timeout_s) {
  SmtpConfig config;
  config.url = "smtp://127.0.0.1:" + std::to_string(port);
  config.starttls = "off";
  config.connect_timeout_s = connect_timeout_s;
  config.timeout_s = timeout_s;
  return config;
}

class SmtpTransportTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }

  void TearDown() override { stop_server(); }

  // Starts smtp_server.py with `args`; returns its port (0 on failure).
  int start_server(const std::vector<std::string>& args = {}) {
    const fs::path script = fs::path(STOCKWATCH_TESTS_DIR) / "support" / "smtp_server.py";
    const fs::path ready = dir_.path() / "ready";
    const fs::path log = dir_.path() / "server.log";
    std::vector<std::string> argv = {STOCKWATCH_PYTHON,   script.string(), "--port", "0",
                                     "--outdir",          outdir().string(),
                                     "--ready-file",      ready.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> c_argv;
    for (std::string& arg : argv) c_argv.push_back(arg.data());
    c_argv.push_back(nullptr);

    const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (log_fd < 0) return 0;
    const pid_t parent = ::getpid();
    server_pid_ = ::fork();
    if (server_pid_ == 0) {
      // The server goes away with the test, even if the test crashes.
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(127);
      ::dup2(log_fd, STDOUT_FILENO);
      ::dup2(log_fd, STDERR_FILENO);
      ::execv(c_argv[0], c_argv.data());
      ::_exit(127);
    }
    ::close(log_fd);
    if (server_pid_ < 0) return 0;

    // Wait for the ready file: at most 10 s.
    for (int i = 0; i < 200; ++i) {
      const std::string text = read_file(ready);
      if (!text.empty() && text.back() == '\n') return std::atoi(text.c_str());
      int status = 0;
      if (::waitpid(server_pid_, &status, WNOHANG) == server_pid_) {
        server_pid_ = -1;
        ADD_FAILURE() << "the SMTP server exited early:\n" << read_file(log);
        return 0;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "the SMTP server did not start within 10 s:\n" << read_file(log);
    return 0;
  }

  void stop_server() {
    if (server_pid_ <= 0) return;
    ::kill(server_pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(server_pid_, &status, WNOHANG) == server_pid_) {
        server_pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(server_pid_, SIGKILL);
    ::waitpid(server_pid_, &status, 0);
    server_pid_ = -1;
  }

  [[nodiscard]] fs::path outdir() const { return dir_.path() / "out"; }

  static SmtpConfig config_for(int port) { return loopback_config(port, 5, 20); }

  TempDir dir_;
  pid_t server_pid_ = -1;
};

TEST_F(SmtpTransportTest, DeliversTheMessage) {
  const int port = start_server();
  ASSERT_GT(port, 0);
  auto transport = make_smtp_transport(config_for(port));
  const SendOutcome outcome =
      transport->send("stockwatch@example.com", "alice@example.com", kMessage);
  ASSERT_TRUE(outcome.sent()) << outcome.detail;
  EXPECT_EQ(outcome.smtp_code, 250);

  // The server received the bytes as sent (dot-stuffing undone on its side).
  EXPECT_EQ(read_file(outdir() / "1.eml"), kMessage);
  const std::string sidecar = read_file(outdir() / "1.json");
  EXPECT_NE(sidecar.find(R"("mail_from": "stockwatch@example.com")"), std::string::npos)
      << sidecar;
  EXPECT_NE(sidecar.find(R"("rcpt_tos": ["alice@example.com"])"), std::string::npos) << sidecar;
  EXPECT_FALSE(fs::exists(outdir() / "2.eml"));
}

TEST_F(SmtpTransportTest, RefusedRecipientIsPermanent) {
  const int port = start_server({"--reject", "nobody@example.com"});
  ASSERT_GT(port, 0);
  auto transport = make_smtp_transport(config_for(port));
  const SendOutcome outcome =
      transport->send("stockwatch@example.com", "nobody@example.com", kMessage);
  EXPECT_EQ(outcome.kind, SendOutcome::Kind::kPermanent) << outcome.detail;
  EXPECT_EQ(outcome.smtp_code, 550);
  EXPECT_NE(outcome.detail.find("smtp://127.0.0.1:" + std::to_string(port) +
                                ": recipient refused (550): 550 5.1.1 No such user"),
            std::string::npos)
      << outcome.detail;
  EXPECT_FALSE(fs::exists(outdir() / "1.eml"));
}

TEST_F(SmtpTransportTest, TemporaryFailureThenSuccess) {
  const int port = start_server({"--fail-451", "1"});
  ASSERT_GT(port, 0);
  auto transport = make_smtp_transport(config_for(port));

  const SendOutcome first =
      transport->send("stockwatch@example.com", "alice@example.com", kMessage);
  EXPECT_EQ(first.kind, SendOutcome::Kind::kTransient) << first.detail;
  EXPECT_EQ(first.smtp_code, 451);
  EXPECT_NE(first.detail.find("(451): 451 4.3.0 Try again later"), std::string::npos)
      << first.detail;
  EXPECT_FALSE(fs::exists(outdir() / "1.eml"));

  const SendOutcome second =
      transport->send("stockwatch@example.com", "alice@example.com", kMessage);
  ASSERT_TRUE(second.sent()) << second.detail;
  EXPECT_EQ(read_file(outdir() / "1.eml"), kMessage);
}

TEST_F(SmtpTransportTest, ConnectionRefusedIsTransient) {
  const int port = closed_port();
  ASSERT_GT(port, 0);
  auto transport = make_smtp_transport(config_for(port));
  const SendOutcome outcome =
      transport->send("stockwatch@example.com", "alice@example.com", kMessage);
  EXPECT_EQ(outcome.kind, SendOutcome::Kind::kTransient) << outcome.detail;
  EXPECT_EQ(outcome.smtp_code, 0);
  EXPECT_NE(outcome.detail.find("cannot connect"), std::string::npos) << outcome.detail;
}

TEST_F(SmtpTransportTest, RequiredStarttlsOnAPlainServerIsPermanent) {
  const int port = start_server();
  ASSERT_GT(port, 0);
  SmtpConfig config = config_for(port);
  config.starttls = "required";
  const SendOutcome outcome = make_smtp_transport(config)->send(
      "stockwatch@example.com", "alice@example.com", kMessage);
  EXPECT_EQ(outcome.kind, SendOutcome::Kind::kPermanent) << outcome.detail;
  EXPECT_NE(outcome.detail.find("STARTTLS required but the server does not offer it"),
            std::string::npos)
      << outcome.detail;
  EXPECT_FALSE(fs::exists(outdir() / "1.eml"));
}

TEST_F(SmtpTransportTest, OpportunisticStarttlsFallsBackToPlain) {
  const int port = start_server();
  ASSERT_GT(port, 0);
  SmtpConfig config = config_for(port);
  config.starttls = "opportunistic";
  const SendOutcome outcome = make_smtp_transport(config)->send(
      "stockwatch@example.com", "alice@example.com", kMessage);
  EXPECT_TRUE(outcome.sent()) << outcome.detail;
}

TEST_F(SmtpTransportTest, HeloNameIsSent) {
  const int port = start_server();
  ASSERT_GT(port, 0);
  SmtpConfig config = config_for(port);
  config.helo = "alerts.example.com";
  const SendOutcome outcome = make_smtp_transport(config)->send(
      "stockwatch@example.com", "alice@example.com", kMessage);
  ASSERT_TRUE(outcome.sent()) << outcome.detail;
  const std::string sidecar = read_file(outdir() / "1.json");
  EXPECT_NE(sidecar.find(R"("helo": "alerts.example.com")"), std::string::npos) << sidecar;
}

TEST_F(SmtpTransportTest, LogsInWithTheConfiguredCredentials) {
  const int port = start_server({"--auth", "alerts:c0rrect-horse"});
  ASSERT_GT(port, 0);
  SmtpConfig config = config_for(port);
  config.username = "alerts";
  config.password = "c0rrect-horse";
  const SendOutcome outcome = make_smtp_transport(config)->send(
      "stockwatch@example.com", "alice@example.com", kMessage);
  ASSERT_TRUE(outcome.sent()) << outcome.detail;
  const std::string sidecar = read_file(outdir() / "1.json");
  EXPECT_NE(sidecar.find(R"("auth": "alerts")"), std::string::npos) << sidecar;
}

TEST_F(SmtpTransportTest, WrongPasswordIsPermanentAndNotShown) {
  const int port = start_server({"--auth", "alerts:c0rrect-horse"});
  ASSERT_GT(port, 0);
  SmtpConfig config = config_for(port);
  config.username = "alerts";
  config.password = "wr0ng-battery";
  const SendOutcome outcome = make_smtp_transport(config)->send(
      "stockwatch@example.com", "alice@example.com", kMessage);
  EXPECT_EQ(outcome.kind, SendOutcome::Kind::kPermanent) << outcome.detail;
  EXPECT_EQ(outcome.smtp_code, 535);
  EXPECT_NE(outcome.detail.find("authentication failed (535): 535 5.7.8"), std::string::npos)
      << outcome.detail;
  EXPECT_EQ(outcome.detail.find("wr0ng"), std::string::npos) << outcome.detail;
  // Nor its base64 form, as AUTH PLAIN would send it ("\0alerts\0wr0ng-battery").
  EXPECT_EQ(outcome.detail.find("AGFsZXJ0cwB3cjBuZy1iYXR0ZXJ5"), std::string::npos)
      << outcome.detail;
  EXPECT_FALSE(fs::exists(outdir() / "1.eml"));
}

TEST_F(SmtpTransportTest, EnvelopeAddressesCannotCarryCommands) {
  const int port = start_server();
  ASSERT_GT(port, 0);
  auto transport = make_smtp_transport(config_for(port));
  const SendOutcome outcome = transport->send(
      "stockwatch@example.com", "alice@example.com>\r\nRCPT TO:<evil@example.com", kMessage);
  EXPECT_EQ(outcome.kind, SendOutcome::Kind::kPermanent) << outcome.detail;
  EXPECT_FALSE(fs::exists(outdir() / "1.eml"));
}

// A loopback socket that accepts connections (the kernel completes them)
// and never says a word: an SMTP server that hangs. Closed with the object.
class SilentServer {
 public:
  SilentServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::listen(fd_, 8) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.sin_port);
    }
  }
  SilentServer(const SilentServer&) = delete;
  SilentServer& operator=(const SilentServer&) = delete;
  ~SilentServer() { ::close(fd_); }
  [[nodiscard]] int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

using SteadyClock = SendDeadline::Clock;

// Time-outs far longer than any test waits.
SmtpConfig patient_config(int port) { return loopback_config(port, 60, 120); }

double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

TEST(SmtpDeadline, CutsTheTimeOutsToTheTimeLeft) {
  SilentServer server;
  ASSERT_GT(server.port(), 0);
  SendDeadline deadline;
  deadline.set(SteadyClock::now() + std::chrono::seconds(1));
  auto transport = make_smtp_transport(patient_config(server.port()), &deadline);
  const auto start = SteadyClock::now();
  const SendOutcome outcome =
      transport->send("stockwatch@example.com", "alice@example.com", kMessage);
  // Far below smtp.timeout_s (120 s), with room for a loaded machine.
  EXPECT_LT(seconds_since(start), 30.0);
  EXPECT_EQ(outcome.kind, SendOutcome::Kind::kTransient) << outcome.detail;
}

TEST(SmtpDeadline, StopsADeliveryInProgressWhenSetDuringIt) {
  SilentServer server;
  ASSERT_GT(server.port(), 0);
  SendDeadline deadline;
  auto transport = make_smtp_transport(patient_config(server.port()), &deadline);
  SendOutcome outcome;
  double took = 0;
  std::thread sender([&] {
    const auto start = SteadyClock::now();
    outcome = transport->send("stockwatch@example.com", "alice@example.com", kMessage);
    took = seconds_since(start);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  deadline.set(SteadyClock::now());
  sender.join();
  EXPECT_LT(took, 30.0);
  EXPECT_EQ(outcome.kind, SendOutcome::Kind::kTransient) << outcome.detail;
  EXPECT_NE(outcome.detail.find("not sent: the time for sending at shutdown "
                                "(smtp.shutdown_flush_s) ran out"),
            std::string::npos)
      << outcome.detail;
  EXPECT_NE(outcome.advice.find("is sent after the next start"), std::string::npos);
}

TEST(SmtpDeadline, NothingStartsOnceItHasPassed) {
  SilentServer server;
  ASSERT_GT(server.port(), 0);
  SendDeadline deadline;
  deadline.set(SteadyClock::now() - std::chrono::milliseconds(1));
  const auto start = SteadyClock::now();
  const SendOutcome outcome = make_smtp_transport(patient_config(server.port()), &deadline)
                                  ->send("stockwatch@example.com", "alice@example.com", kMessage);
  EXPECT_LT(seconds_since(start), 5.0);
  EXPECT_EQ(outcome.kind, SendOutcome::Kind::kTransient);
  EXPECT_NE(outcome.detail.find("(smtp.shutdown_flush_s) ran out"), std::string::npos)
      << outcome.detail;
}

TEST(SmtpDeadline, RemembersWhatWasSet) {
  SendDeadline deadline;
  EXPECT_FALSE(deadline.get().has_value());
  const auto at = SteadyClock::now();
  deadline.set(at);
  EXPECT_EQ(deadline.get(), std::optional<SteadyClock::time_point>(at));
}

}  // namespace
}  // namespace stockwatch
