// The configuration file: the shipped example, defaults, path resolution, and
// the problems reported for bad files (each naming the key and the line).
#include "config/config.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "pipeline/report_stage.hpp"
#include "test_util.hpp"

#ifndef STOCKWATCH_SOURCE_DIR
#define STOCKWATCH_SOURCE_DIR "."
#endif

namespace stockwatch {
namespace {

namespace fs = std::filesystem;
using test::TempDir;
using test::write_file;

const fs::path kBase = "/srv/stockwatch";

// Every valid config needs a subscription; texts without one get it
// appended (after their own lines, so line numbers stay as written).
ConfigLoad parse(const std::string& text) {
  std::string full = text;
  if (full.find("[[alerts.subscription]]") == std::string::npos) {
    full += "\n[[alerts.subscription]]\nemail = \"owner@example.com\"\n";
  }
  return parse_config(full, "test.toml", kBase);
}

std::vector<std::string> problems_of(const ConfigLoad& load) {
  std::vector<std::string> out;
  for (const auto& p : load.problems) out.push_back(p.to_string());
  return out;
}

std::string all_problems(const ConfigLoad& load) {
  std::string out;
  for (const auto& p : problems_of(load)) out += p + "\n";
  return out;
}

// The one problem `text` produces.
std::string only_problem(const std::string& text) {
  const ConfigLoad load = parse(text);
  EXPECT_EQ(load.problems.size(), 1u) << all_problems(load);
  return load.problems.empty() ? std::string() : load.problems[0].to_string();
}

TEST(ConfigProblems, NoSubscriptionIsAProblem) {
  const ConfigLoad load = parse_config("[alerts]\nfrom = \"a@b.c\"\n", "test.toml", kBase);
  ASSERT_EQ(load.problems.size(), 1u) << all_problems(load);
  EXPECT_EQ(load.problems[0].key, "alerts.subscription");
}

TEST(ConfigProblems, ArchiveFoldersInsideTheInboxAreProblems) {
  const std::string p = only_problem("[inbox]\npath = \"in\"\nprocessed = \"in/done\"\n");
  EXPECT_NE(p.find("inbox.processed"), std::string::npos) << p;
  EXPECT_NE(p.find("outside the inbox"), std::string::npos) << p;
}

TEST(ConfigProblems, NoMaildirWithoutSmtpIsAProblem) {
  EXPECT_NE(only_problem("[smtp]\nmaildir = \"\"\n").find("smtp.maildir"), std::string::npos);
}

TEST(ConfigProblems, EmptyDatabasePathIsAProblem) {
  EXPECT_NE(only_problem("[storage]\ndatabase = \"\"\n").find("storage.database"), std::string::npos);
}

TEST(ConfigProblems, TheConsoleTimeZoneMustBeOneOfThisSystem) {
  const std::string p = only_problem("[console]\ntimezone = \"Mars/Base\"\n");
  EXPECT_NE(p.find("console.timezone"), std::string::npos) << p;
  EXPECT_NE(p.find("Asia/Jakarta"), std::string::npos) << p;
  EXPECT_NE(only_problem("[console]\ntimezone = \"../../etc/passwd\"\n").find("console.timezone"),
            std::string::npos);
  EXPECT_NE(only_problem("[console]\nsession_idle_minutes = 0\n").find("console.session_idle_minutes"),
            std::string::npos);
}

// A node is named by the file, or after its host; a name that cannot
// stand in a log line or a metric label is refused.
TEST(Config, TheNodeNameDefaultsToTheHostName) {
  const ConfigLoad plain = parse("");
  ASSERT_TRUE(plain.ok()) << all_problems(plain);
  EXPECT_FALSE(plain.config.node.name.empty());
  EXPECT_FALSE(plain.config.node.named);
  EXPECT_FALSE(plain.config.node.in_logs(plain.config.storage));
  const ConfigLoad named = parse("[node]\nname = \"node-a\"\n");
  ASSERT_TRUE(named.ok()) << all_problems(named);
  EXPECT_EQ(named.config.node.name, "node-a");
  EXPECT_TRUE(named.config.node.in_logs(named.config.storage));
  for (const char* bad : {"\"\"", "\"node a\"", "\"a%b\""}) {
    const std::string p = only_problem(std::string("[node]\nname = ") + bad + "\n");
    EXPECT_NE(p.find("node.name (line 2)"), std::string::npos) << p;
    EXPECT_NE(p.find("letters, digits"), std::string::npos) << p;
  }
}

TEST(Config, TheConsoleSettingsAreRead) {
  const ConfigLoad load = parse(
      "[console]\nenabled = false\nbehind_tls = true\ntimezone = \"UTC\"\n"
      "session_idle_minutes = 30\nsession_max_hours = 12\nsetup_link_minutes = 5\n"
      "max_upload_bytes = 1024\nupload_wait_s = 9\nquiet_store_days = 40\nworkers = 3\n");
  ASSERT_TRUE(load.problems.empty()) << all_problems(load);
  const auto& c = load.config.console;
  EXPECT_FALSE(c.enabled);
  EXPECT_TRUE(c.behind_tls);
  EXPECT_EQ(c.timezone, "UTC");
  EXPECT_EQ(c.session_idle_minutes, 30);
  EXPECT_EQ(c.session_max_hours, 12);
  EXPECT_EQ(c.setup_link_minutes, 5);
  EXPECT_EQ(c.max_upload_bytes, 1024u);
  EXPECT_EQ(c.upload_wait_s, 9);
  EXPECT_EQ(c.quiet_store_days, 40);
  EXPECT_EQ(c.workers, 3);
  EXPECT_EQ(ConsoleConfig{}.workers, 2);
}

TEST(Config, TheExampleConfigLoadsWithNoProblems) {
  const fs::path example = fs::path(STOCKWATCH_SOURCE_DIR) / "config" / "stockwatch.toml";
  const ConfigLoad load = load_config(example);
  ASSERT_TRUE(load.ok()) << all_problems(load);
  const Config& c = load.config;
  EXPECT_TRUE(c.source.is_absolute());
  EXPECT_EQ(c.source, fs::absolute(example));
  // Relative paths are resolved against the working directory.
  const fs::path cwd = fs::current_path();
  EXPECT_EQ(c.storage.database, cwd / "var/stockwatch.db");
  EXPECT_EQ(c.inbox.path, cwd / "var/inbox");
  EXPECT_EQ(c.inbox.processed, cwd / "var/processed");
  EXPECT_EQ(c.inbox.failed, cwd / "var/failed");
  EXPECT_EQ(c.smtp.maildir, cwd / "var/mail");
  EXPECT_EQ(c.smtp.url, "");
  // make run serves the web console on this machine only.
  EXPECT_EQ(c.http.listen, "127.0.0.1:8080");
  EXPECT_TRUE(c.console.enabled);
  EXPECT_EQ(c.alerts.from, "stockwatch@localhost");
  EXPECT_EQ(c.alerts.subject, "Inventory Alert!");
  ASSERT_EQ(c.alerts.subscriptions.size(), 1u);
  EXPECT_EQ(c.alerts.subscriptions[0].emails, std::vector<std::string>{"owner@example.com"});
  EXPECT_TRUE(c.alerts.subscriptions[0].stores.empty());
  EXPECT_TRUE(c.alerts.subscriptions[0].events.empty());
}

TEST(Config, AMissingFileIsAProblem) {
  TempDir dir("config");
  const ConfigLoad load = load_config(dir / "nope.toml");
  ASSERT_EQ(load.problems.size(), 1u);
  EXPECT_NE(load.problems[0].to_string().find("cannot read config file"), std::string::npos)
      << load.problems[0].to_string();
}

TEST(Config, TheClaimLeaseMustOutlastOneDelivery) {
  const ConfigLoad ok = parse("[storage]\nclaim_lease_s = 30\n\n[smtp]\ntimeout_s = 20\n");
  ASSERT_TRUE(ok.ok()) << all_problems(ok);
  EXPECT_EQ(ok.config.storage.claim_lease_s, 30);
  const std::string problem = only_problem("[storage]\nclaim_lease_s = 30\n");  // timeout_s 60
  EXPECT_NE(problem.find("storage.claim_lease_s"), std::string::npos) << problem;
  EXPECT_NE(problem.find("longer than smtp.timeout_s (60 s)"), std::string::npos) << problem;
  EXPECT_NE(only_problem("[storage]\nclaim_lease_s = 1\n").find("storage.claim_lease_s"),
            std::string::npos);
}

TEST(Config, Defaults) {
  const ConfigLoad load = parse("");
  ASSERT_TRUE(load.ok()) << all_problems(load);
  const Config& c = load.config;
  EXPECT_EQ(c.source, "test.toml");
  EXPECT_EQ(c.storage.database, kBase / "var/stockwatch.db");
  EXPECT_EQ(c.storage.synchronous, "normal");
  EXPECT_EQ(c.storage.busy_timeout_ms, 5000);
  EXPECT_EQ(c.storage.claim_lease_s, 600);
  EXPECT_EQ(c.inbox.path, kBase / "var/inbox");
  EXPECT_EQ(c.inbox.processed, kBase / "var/processed");
  EXPECT_EQ(c.inbox.failed, kBase / "var/failed");
  EXPECT_EQ(c.inbox.mode, "auto");
  EXPECT_EQ(c.inbox.settle_ms, 1000);
  EXPECT_EQ(c.inbox.poll_interval_ms, 2000);
  EXPECT_EQ(c.inbox.rescan_interval_s, 300);
  EXPECT_EQ(c.inbox.write_timeout_s, 600);
  EXPECT_EQ(c.inbox.max_report_bytes, 2ULL * 1024 * 1024 * 1024);
  EXPECT_EQ(c.inbox.archive, "move");
  EXPECT_EQ(c.inbox.bucket, "inventory");
  EXPECT_EQ(c.alerts.from, "stockwatch@localhost");
  EXPECT_EQ(c.alerts.subject, "Inventory Alert!");
  ASSERT_EQ(c.alerts.subscriptions.size(), 1u);  // the one parse() adds
  EXPECT_TRUE(c.alerts.notify_rejected);
  EXPECT_FALSE(c.alerts.back_in_stock);
  EXPECT_EQ(c.alerts.group, "report");
  EXPECT_EQ(c.smtp.url, "");
  EXPECT_EQ(c.smtp.maildir, kBase / "var/mail");
  EXPECT_EQ(c.smtp.starttls, "required");
  EXPECT_TRUE(c.smtp.tls_verify);
  EXPECT_EQ(c.smtp.connect_timeout_s, 10);
  EXPECT_EQ(c.smtp.timeout_s, 60);
  EXPECT_EQ(c.smtp.shutdown_flush_s, 10);
  EXPECT_EQ(c.smtp.retry_initial_s, 5);
  EXPECT_EQ(c.smtp.retry_max_s, 600);
  EXPECT_EQ(c.smtp.max_attempts, 200);
  EXPECT_EQ(c.smtp.max_age_s, 24 * 3600);
  EXPECT_TRUE(c.smtp.password_file.empty());
  EXPECT_TRUE(c.smtp.ca_file.empty());
  EXPECT_EQ(c.http.listen, "");
  EXPECT_EQ(c.log.level, "info");
}

TEST(Config, EveryKeyIsRead) {
  const ConfigLoad load = parse(R"(
[storage]
database = "/data/stock.db"
synchronous = "full"
busy_timeout_ms = 250

[inbox]
path = "in"
processed = "done"
failed = "/var/lib/stockwatch/failed"
mode = "poll"
settle_ms = 0
poll_interval_ms = 500
rescan_interval_s = 60
write_timeout_s = 120
max_report_bytes = 1048576
archive = "delete"
bucket = "reports"

[alerts]
from = "alerts@gudang.example.id"
subject = "Stok habis!"
notify_rejected = false
back_in_stock = true
group = "item"

[[alerts.subscription]]
email = ["a@example.com", "b@example.com"]
stores = ["Medan", "Makassar"]
events = ["out_of_stock", "back_in_stock"]

[[alerts.subscription]]
email = "ops@example.com"
stores = "Medan"
events = "report_rejected"

[smtp]
url = "smtps://mail.example.com:465"
maildir = "mail"
starttls = "opportunistic"
username = "stockwatch"
ca_file = "certs/ca.pem"
tls_verify = false
connect_timeout_s = 3
timeout_s = 30
shutdown_flush_s = 0
retry_initial_s = 2
retry_max_s = 120
max_attempts = 10
max_age_s = 3600
helo = "gudang.example.id"

[http]
listen = "127.0.0.1:8080"

[log]
level = "debug"
)");
  ASSERT_TRUE(load.ok()) << all_problems(load);
  const Config& c = load.config;
  EXPECT_EQ(c.storage.database, "/data/stock.db");
  EXPECT_EQ(c.storage.synchronous, "full");
  EXPECT_EQ(c.storage.busy_timeout_ms, 250);
  EXPECT_EQ(c.inbox.path, kBase / "in");
  EXPECT_EQ(c.inbox.processed, kBase / "done");
  EXPECT_EQ(c.inbox.failed, "/var/lib/stockwatch/failed");
  EXPECT_EQ(c.inbox.mode, "poll");
  EXPECT_EQ(c.inbox.settle_ms, 0);
  EXPECT_EQ(c.inbox.poll_interval_ms, 500);
  EXPECT_EQ(c.inbox.rescan_interval_s, 60);
  EXPECT_EQ(c.inbox.write_timeout_s, 120);
  EXPECT_EQ(c.inbox.max_report_bytes, 1048576u);
  EXPECT_EQ(c.inbox.archive, "delete");
  EXPECT_EQ(c.inbox.bucket, "reports");
  EXPECT_EQ(c.alerts.from, "alerts@gudang.example.id");
  EXPECT_EQ(c.alerts.subject, "Stok habis!");
  EXPECT_FALSE(c.alerts.notify_rejected);
  EXPECT_TRUE(c.alerts.back_in_stock);
  EXPECT_EQ(c.alerts.group, "item");
  ASSERT_EQ(c.alerts.subscriptions.size(), 2u);
  EXPECT_EQ(c.alerts.subscriptions[0].emails,
            (std::vector<std::string>{"a@example.com", "b@example.com"}));
  EXPECT_EQ(c.alerts.subscriptions[0].stores, (std::vector<std::string>{"Medan", "Makassar"}));
  EXPECT_EQ(c.alerts.subscriptions[0].events,
            (std::vector<std::string>{"out_of_stock", "back_in_stock"}));
  EXPECT_EQ(c.alerts.subscriptions[1].emails, std::vector<std::string>{"ops@example.com"});
  EXPECT_EQ(c.alerts.subscriptions[1].stores, std::vector<std::string>{"Medan"});
  EXPECT_EQ(c.alerts.subscriptions[1].events, std::vector<std::string>{"report_rejected"});
  EXPECT_EQ(c.smtp.url, "smtps://mail.example.com:465");
  EXPECT_EQ(c.smtp.maildir, kBase / "mail");
  EXPECT_EQ(c.smtp.starttls, "opportunistic");
  EXPECT_EQ(c.smtp.username, "stockwatch");
  EXPECT_EQ(c.smtp.ca_file, kBase / "certs/ca.pem");
  EXPECT_FALSE(c.smtp.tls_verify);
  EXPECT_EQ(c.smtp.connect_timeout_s, 3);
  EXPECT_EQ(c.smtp.timeout_s, 30);
  EXPECT_EQ(c.smtp.shutdown_flush_s, 0);
  EXPECT_EQ(c.smtp.retry_initial_s, 2);
  EXPECT_EQ(c.smtp.retry_max_s, 120);
  EXPECT_EQ(c.smtp.max_attempts, 10);
  EXPECT_EQ(c.smtp.max_age_s, 3600);
  EXPECT_EQ(c.smtp.helo, "gudang.example.id");
  EXPECT_EQ(c.http.listen, "127.0.0.1:8080");
  EXPECT_EQ(c.log.level, "debug");
}

TEST(Config, RelativePathsResolveAgainstTheBaseDir) {
  TempDir dir("config");
  const ConfigLoad load = parse_config(
      "[storage]\ndatabase = \"db/stock.db\"\n[inbox]\npath = \"./inbox\"\nprocessed = "
      "\"../shared/processed\"\nfailed = \"/abs/failed\"\n"
      "[[alerts.subscription]]\nemail = \"owner@example.com\"\n",
      "rel.toml", dir.path());
  ASSERT_TRUE(load.ok()) << all_problems(load);
  EXPECT_EQ(load.config.storage.database, dir.path() / "db/stock.db");
  EXPECT_EQ(load.config.inbox.path, dir.path() / "./inbox");
  EXPECT_EQ(load.config.inbox.processed, dir.path() / "../shared/processed");
  EXPECT_EQ(load.config.inbox.failed, "/abs/failed");
  EXPECT_TRUE(load.config.storage.database.is_absolute());
  EXPECT_TRUE(load.config.inbox.path.is_absolute());
  // Defaults follow the base dir too.
  EXPECT_EQ(load.config.smtp.maildir, dir.path() / "var/mail");
}

TEST(Config, AnEmptyOptionalPathClearsIt) {
  const ConfigLoad load =
      parse("[smtp]\nurl = \"smtp://127.0.0.1:25\"\nca_file = \"\"\nmaildir = \"\"\n");
  ASSERT_TRUE(load.ok()) << all_problems(load);
  EXPECT_TRUE(load.config.smtp.ca_file.empty());
  EXPECT_TRUE(load.config.smtp.maildir.empty());
}

TEST(Config, ThePasswordFileIsReadRelativeToTheBaseDir) {
  TempDir dir("config");
  write_file(dir / "secrets" / "smtp-password", "s3cret!\nsecond line ignored\n");
  // Private, as a password file must be (a world-readable one is refused).
  std::filesystem::permissions(dir / "secrets" / "smtp-password", std::filesystem::perms(0600));
  const ConfigLoad load =
      parse_config("[smtp]\npassword_file = \"secrets/smtp-password\"\n"
                   "[[alerts.subscription]]\nemail = \"owner@example.com\"\n",
                   "pw.toml", dir.path());
  ASSERT_TRUE(load.ok()) << all_problems(load);
  EXPECT_EQ(load.config.smtp.password_file, dir.path() / "secrets/smtp-password");
  EXPECT_EQ(load.config.smtp.password, "s3cret!");

  const ConfigLoad missing =
      parse_config("[smtp]\npassword_file = \"secrets/nope\"\n"
                   "[[alerts.subscription]]\nemail = \"owner@example.com\"\n",
                   "pw.toml", dir.path());
  ASSERT_EQ(missing.problems.size(), 1u) << all_problems(missing);
  EXPECT_EQ(missing.problems[0].key, "smtp.password_file");
  EXPECT_NE(missing.problems[0].message.find("cannot read"), std::string::npos);
}

// [storage] on PostgreSQL: the URL is required and must be one; the
// password comes from a private file, shown nowhere.
TEST(Config, PostgresqlStorageTakesAUrlAndAPrivatePasswordFile) {
  TempDir dir("config");
  write_file(dir / "db-password", "pg-s3cret\n");
  std::filesystem::permissions(dir / "db-password", std::filesystem::perms(0600));
  const std::string subs = "[[alerts.subscription]]\nemail = \"owner@example.com\"\n";
  const ConfigLoad load = parse_config(
      "[storage]\nbackend = \"postgresql\"\n"
      "url = \"postgresql://sw:inline@db.example.com/stock?sslmode=require\"\n"
      "password_file = \"db-password\"\n" + subs,
      "pg.toml", dir.path());
  ASSERT_TRUE(load.ok()) << all_problems(load);
  EXPECT_EQ(load.config.storage.password, "pg-s3cret");
  EXPECT_EQ(load.config.storage.location().string(),
            "postgresql://sw:inline@db.example.com/stock?sslmode=require");
  EXPECT_EQ(load.config.storage.shown_location(),
            "postgresql://sw:***@db.example.com/stock?sslmode=require");

  const ConfigLoad no_url =
      parse_config("[storage]\nbackend = \"postgresql\"\n" + subs, "pg.toml", dir.path());
  ASSERT_EQ(no_url.problems.size(), 1u) << all_problems(no_url);
  EXPECT_EQ(no_url.problems[0].key, "storage.url");

  std::filesystem::permissions(dir / "db-password", std::filesystem::perms(0644));
  const ConfigLoad open = parse_config(
      "[storage]\nbackend = \"postgresql\"\nurl = \"postgresql://db/stock\"\n"
      "password_file = \"db-password\"\n" + subs,
      "pg.toml", dir.path());
  ASSERT_EQ(open.problems.size(), 1u) << all_problems(open);
  EXPECT_EQ(open.problems[0].key, "storage.password_file");
  EXPECT_NE(open.problems[0].message.find("read by every user"), std::string::npos);

  const ConfigLoad wrong = parse_config("[storage]\nbackend = \"mysql\"\n" + subs, "pg.toml",
                                        dir.path());
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.problems[0].key, "storage.backend");
}

// A password file every user of the machine can read is refused, by
// check-config and at start (both read the configuration this way).
TEST(Config, AWorldReadablePasswordFileIsRefused) {
  TempDir dir("config");
  const auto file = dir / "smtp-password";
  write_file(file, "s3cret!\n");
  const std::string text = "[smtp]\npassword_file = \"smtp-password\"\n"
                           "[[alerts.subscription]]\nemail = \"owner@example.com\"\n";
  std::filesystem::permissions(file, std::filesystem::perms(0644));
  const ConfigLoad open = parse_config(text, "pw.toml", dir.path());
  ASSERT_EQ(open.problems.size(), 1u) << all_problems(open);
  EXPECT_EQ(open.problems[0].key, "smtp.password_file");
  EXPECT_NE(open.problems[0].message.find("read by every user"), std::string::npos)
      << open.problems[0].message;
  EXPECT_NE(open.problems[0].message.find("chmod 600"), std::string::npos);

  std::filesystem::permissions(file, std::filesystem::perms(0640));
  const ConfigLoad private_file = parse_config(text, "pw.toml", dir.path());
  ASSERT_TRUE(private_file.ok()) << all_problems(private_file);
  EXPECT_EQ(private_file.config.smtp.password, "s3cret!");
}

// --- Problems -------------------------------------------------------------------

TEST(ConfigProblems, WrongTypeNamesTheKeyAndTheLine) {
  EXPECT_EQ(only_problem("# stockwatch\n[inbox]\nsettle_ms = \"1000\"\n"),
            "inbox.settle_ms (line 3): expected an integer, got a string");
  EXPECT_EQ(only_problem("[alerts]\nback_in_stock = \"yes\"\n"),
            "alerts.back_in_stock (line 2): expected true or false, got a string");
  EXPECT_EQ(only_problem("[smtp]\nurl = 25\n"), "smtp.url (line 2): expected a string, got an integer");
  EXPECT_EQ(only_problem("[inbox]\nmax_report_bytes = 1.5\n"),
            "inbox.max_report_bytes (line 2): expected an integer, got a number");
  EXPECT_EQ(only_problem("inbox = 5\n"), "inbox (line 1): expected a table, got an integer");
  EXPECT_EQ(only_problem("[[alerts.subscription]]\nemail = [\"a@example.com\", 7]\n"),
            "alerts.subscription[0].email (line 2): expected an array of strings, got an integer");
}

TEST(ConfigProblems, TheProblemItselfCarriesKeyLineAndMessage) {
  const ConfigLoad load = parse("\n\n[inbox]\nsettle_ms = \"1000\"\n");
  ASSERT_EQ(load.problems.size(), 1u);
  EXPECT_EQ(load.problems[0].key, "inbox.settle_ms");
  EXPECT_EQ(load.problems[0].line, 4);
  EXPECT_EQ(load.problems[0].message, "expected an integer, got a string");
  // The rest of the file still applies; the bad key keeps its default.
  EXPECT_EQ(load.config.inbox.settle_ms, 1000);
}

TEST(ConfigProblems, UnknownKeysAreProblems) {
  EXPECT_EQ(only_problem("[inbox]\nsettle_ms = 5\nsetle_ms = 5\n"),
            "inbox.setle_ms (line 3): unknown key");
  EXPECT_EQ(only_problem("[smtp]\n\npasword = \"x\"\n"), "smtp.pasword (line 3): unknown key");
  const ConfigLoad top = parse("[inboxes]\npath = \"x\"\n");
  ASSERT_EQ(top.problems.size(), 1u) << all_problems(top);
  EXPECT_EQ(top.problems[0].key, "inboxes");
  EXPECT_EQ(top.problems[0].message, "unknown key");
  EXPECT_EQ(top.problems[0].line, 1);
  EXPECT_EQ(only_problem("[[alerts.subscription]]\nemail = \"a@example.com\"\nstore = \"Medan\"\n"),
            "alerts.subscription[0].store (line 3): unknown key");
}

TEST(ConfigProblems, OutOfRangeNumbers) {
  EXPECT_EQ(only_problem("[inbox]\nsettle_ms = -1\n"),
            "inbox.settle_ms (line 2): must be between 0 and 3600000, got -1");
  EXPECT_EQ(only_problem("[smtp]\nmax_attempts = 0\n"),
            "smtp.max_attempts (line 2): must be between 1 and 1000, got 0");
  EXPECT_EQ(only_problem("[smtp]\nshutdown_flush_s = 601\n"),
            "smtp.shutdown_flush_s (line 2): must be between 0 and 600, got 601");
  EXPECT_EQ(only_problem("[inbox]\nmax_report_bytes = 0\n"),
            "inbox.max_report_bytes (line 2): must be at least 1");
}

TEST(ConfigProblems, InvalidEmailAddresses) {
  EXPECT_EQ(only_problem("[alerts]\nfrom = \"stockwatch\"\n"),
            "alerts.from (line 2): \"stockwatch\" is not an email address");
  EXPECT_EQ(only_problem("[[alerts.subscription]]\nemail = [\"owner@example.com\", \"not an "
                         "address\"]\n"),
            "alerts.subscription[0].email (line 2): \"not an address\" is not an email address");
  EXPECT_EQ(only_problem("[alerts]\n[[alerts.subscription]]\nemail = \"a@example.com\"\n"
                         "[[alerts.subscription]]\nemail = \"@example.com\"\n"),
            "alerts.subscription[1].email (line 5): \"@example.com\" is not an email address");
  EXPECT_EQ(only_problem("[[alerts.subscription]]\nemail = \"x@y.z, other@y.z\"\n"),
            "alerts.subscription[0].email (line 2): \"x@y.z, other@y.z\" is not an email address");
  const ConfigLoad none = parse("[[alerts.subscription]]\nstores = [\"Medan\"]\n");
  ASSERT_EQ(none.problems.size(), 1u) << all_problems(none);
  EXPECT_EQ(none.problems[0].key, "alerts.subscription[0].email");
  EXPECT_EQ(none.problems[0].message, "a subscription needs an email, a webhook or a telegram chat id");
}

TEST(ConfigProblems, UnknownEvent) {
  EXPECT_EQ(only_problem("[[alerts.subscription]]\nemail = \"a@example.com\"\nevents = "
                         "[\"sold_out\"]\n"),
            "alerts.subscription[0].events (line 3): unknown event \"sold_out\"; use "
            "out_of_stock, back_in_stock, report_rejected, low_stock, still_out, report_missing, "
            "digest or running_out");
}

TEST(ConfigAlerts, MinimumLevelsAndReminders) {
  const ConfigLoad ok = parse("[alerts]\ndefault_minimum = 5\nstill_out_every_days = 7\n"
                              "[[alerts.subscription]]\nemail = \"a@example.com\"\n");
  ASSERT_TRUE(ok.problems.empty()) << all_problems(ok);
  EXPECT_EQ(ok.config.alerts.default_minimum, 5);
  EXPECT_EQ(ok.config.alerts.still_out_every_days, 7);
  EXPECT_EQ(only_problem("[alerts]\nstill_out_every_days = -1\n[[alerts.subscription]]\n"
                         "email = \"a@example.com\"\n"),
            "alerts.still_out_every_days (line 2): must be between 0 and 3650, got -1");
}

TEST(ConfigProblems, SmtpUrlScheme) {
  EXPECT_EQ(only_problem("[smtp]\nurl = \"http://mail.example.com\"\n"),
            "smtp.url (line 2): must start with smtp:// or smtps:// (or be empty to use the "
            "maildir)");
  EXPECT_TRUE(parse("[smtp]\nurl = \"smtp://127.0.0.1:2525\"\n").ok());
  EXPECT_TRUE(parse("[smtp]\nurl = \"smtps://mail.example.com\"\n").ok());
  EXPECT_TRUE(parse("[smtp]\nurl = \"\"\n").ok());
}

TEST(ConfigProblems, BadEnumValues) {
  EXPECT_EQ(only_problem("[inbox]\nmode = \"fanotify\"\n"),
            "inbox.mode (line 2): must be one of \"auto\", \"inotify\", \"poll\", got \"fanotify\"");
  EXPECT_EQ(only_problem("[inbox]\narchive = \"keep\"\n"),
            "inbox.archive (line 2): must be one of \"move\", \"delete\", got \"keep\"");
  EXPECT_EQ(only_problem("[alerts]\ngroup = \"store\"\n"),
            "alerts.group (line 2): must be one of \"report\", \"item\", got \"store\"");
  EXPECT_EQ(only_problem("[storage]\nsynchronous = \"off\"\n"),
            "storage.synchronous (line 2): must be one of \"normal\", \"full\", got \"off\"");
  EXPECT_EQ(only_problem("[smtp]\nstarttls = \"yes\"\n"),
            "smtp.starttls (line 2): must be one of \"required\", \"opportunistic\", \"off\", got "
            "\"yes\"");
  EXPECT_EQ(only_problem("[log]\nlevel = \"verbose\"\n"),
            "log.level (line 2): must be one of \"trace\", \"debug\", \"info\", \"warn\", "
            "\"error\", \"critical\", \"off\", got \"verbose\"");
  // A wrong type for an enum is one problem, not two.
  EXPECT_EQ(only_problem("[inbox]\nmode = 3\n"), "inbox.mode (line 2): expected a string, got an integer");
}

TEST(ConfigProblems, EveryProblemIsReportedAtOnce) {
  const ConfigLoad load = parse(
      "[inbox]\n"
      "settle_ms = \"x\"\n"     // line 2
      "mode = \"fast\"\n"       // line 3
      "colour = \"blue\"\n"     // line 4
      "[smtp]\n"
      "url = \"ftp://x\"\n");  // line 6
  const auto problems = problems_of(load);
  EXPECT_EQ(problems.size(), 4u) << all_problems(load);
  auto has = [&](const std::string& p) {
    return std::find(problems.begin(), problems.end(), p) != problems.end();
  };
  EXPECT_TRUE(has("inbox.settle_ms (line 2): expected an integer, got a string")) << all_problems(load);
  EXPECT_TRUE(has("inbox.mode (line 3): must be one of \"auto\", \"inotify\", \"poll\", got \"fast\""))
      << all_problems(load);
  EXPECT_TRUE(has("inbox.colour (line 4): unknown key")) << all_problems(load);
  EXPECT_TRUE(has("smtp.url (line 6): must start with smtp:// or smtps:// (or be empty to use the "
                  "maildir)"))
      << all_problems(load);
}

TEST(ConfigProblems, ASyntaxErrorGivesTheLine) {
  const ConfigLoad load = parse("[inbox]\npath = \"in\"\nsettle_ms = = 3\n");
  ASSERT_EQ(load.problems.size(), 1u) << all_problems(load);
  EXPECT_EQ(load.problems[0].key, "");
  EXPECT_EQ(load.problems[0].line, 3);
  EXPECT_FALSE(load.problems[0].message.empty());
  EXPECT_EQ(load.problems[0].to_string().rfind("config (line 3): ", 0), 0u)
      << load.problems[0].to_string();

  const ConfigLoad unterminated = parse("[alerts]\n\nsubject = \"Inventory Alert!\n");
  ASSERT_EQ(unterminated.problems.size(), 1u) << all_problems(unterminated);
  EXPECT_EQ(unterminated.problems[0].line, 3);
}

TEST(ConfigProblems, ProblemToString) {
  EXPECT_EQ((ConfigProblem{"smtp.url", 3, "bad"}).to_string(), "smtp.url (line 3): bad");
  EXPECT_EQ((ConfigProblem{"smtp.url", 0, "bad"}).to_string(), "smtp.url: bad");
  EXPECT_EQ((ConfigProblem{"", 7, "bad"}).to_string(), "config (line 7): bad");
}

// --- [http] and [report] ------------------------------------------------------------

TEST(HttpConfig, CredentialsAndLimitsAreRead) {
  const ConfigLoad load = parse(
      "[http]\nlisten = \"127.0.0.1:8080\"\ntoken = \"t\"\nmax_upload_bytes = 5000\n"
      "read_timeout_s = 7\nmax_connections = 9\nregion = \"ap-southeast-3\"\n"
      "[[http.credential]]\naccess_key = \"A\"\nsecret_key = \"S\"\nstores = [\"Medan\", \"Aceh\"]\n"
      "[[http.credential]]\naccess_key = \"B\"\nsecret_key = \"T\"\n");
  ASSERT_TRUE(load.ok()) << all_problems(load);
  const auto& h = load.config.http;
  EXPECT_EQ(h.listen, "127.0.0.1:8080");
  EXPECT_EQ(h.token, "t");
  EXPECT_EQ(h.max_upload_bytes, 5000u);
  EXPECT_EQ(h.read_timeout_s, 7);
  EXPECT_EQ(h.max_connections, 9);
  EXPECT_EQ(h.region, "ap-southeast-3");
  ASSERT_EQ(h.credentials.size(), 2u);
  EXPECT_EQ(h.credentials[0].stores, (std::vector<std::string>{"Medan", "Aceh"}));
  EXPECT_TRUE(h.credentials[1].stores.empty());
}

TEST(HttpConfig, AMalformedListenAddressIsAProblem) {
  for (const char* bad : {"8080", "localhost", "example.com:80", "::1:80", "127.0.0.1:99999",
                          "127.0.0.1:"}) {
    EXPECT_NE(only_problem(std::string("[http]\nlisten = \"") + bad + "\"\n")
                  .find("http.listen (line 2): \""),
              std::string::npos)
        << bad;
  }
  for (const char* good : {"127.0.0.1:0", "0.0.0.0:8080", "[::1]:8080", "localhost:8080"}) {
    EXPECT_TRUE(parse(std::string("[http]\nlisten = \"") + good + "\"\n").ok()) << good;
  }
}

TEST(HttpConfig, AnonymousUploadOnlyOnLoopback) {
  EXPECT_TRUE(parse("[http]\nlisten = \"127.0.0.1:8080\"\nallow_anonymous_upload = true\n").ok());
  EXPECT_TRUE(parse("[http]\nlisten = \"[::1]:8080\"\nallow_anonymous_upload = true\n").ok());
  const std::string p =
      only_problem("[http]\nlisten = \"0.0.0.0:8080\"\nallow_anonymous_upload = true\n");
  EXPECT_NE(p.find("http.allow_anonymous_upload (line 3): anonymous uploads are allowed only on a "
                   "loopback address"),
            std::string::npos)
      << p;
}

TEST(HttpConfig, CredentialsNeedBothKeysAndUniqueNames) {
  EXPECT_NE(only_problem("[[http.credential]]\naccess_key = \"A\"\n")
                .find("needs access_key and secret_key"),
            std::string::npos);
  EXPECT_NE(only_problem("[[http.credential]]\naccess_key = \"A\"\nsecret_key = \"x\"\n"
                         "[[http.credential]]\naccess_key = \"A\"\nsecret_key = \"y\"\n")
                .find("listed twice"),
            std::string::npos);
  EXPECT_NE(only_problem("[[http.credential]]\naccess_key = \"A\"\nsecret_key = \"x\"\nsecrt = 1\n")
                .find("http.credential[0].secrt (line 4): unknown key"),
            std::string::npos);
}

TEST(ReportConfig, AliasesAndLimitsAreConfigurable) {
  const ConfigLoad load = parse(
      "[report]\nstore_columns = [\"cabang\"]\nitem_columns = \"nama barang\"\n"
      "max_count = 5000000000\nmax_name_bytes = 50\nmax_line_bytes = 1024\nmax_problems = 3\n");
  ASSERT_TRUE(load.ok()) << all_problems(load);
  const auto& r = load.config.report;
  EXPECT_EQ(r.aliases.store, (std::vector<std::string>{"cabang"}));
  EXPECT_EQ(r.aliases.item, (std::vector<std::string>{"nama barang"}));
  EXPECT_EQ(r.aliases.count, HeaderAliases{}.count);
  EXPECT_EQ(r.limits.max_count, 5'000'000'000LL);
  EXPECT_EQ(r.limits.max_name_bytes, 50u);
  EXPECT_EQ(r.limits.max_line_bytes, 1024u);
  EXPECT_EQ(r.limits.max_problems, 3u);
}

TEST(ReportConfig, WorkbookCapsAreConfigurable) {
  const ConfigLoad defaults = parse("[report]\n");
  ASSERT_TRUE(defaults.ok()) << all_problems(defaults);
  EXPECT_EQ(defaults.config.report.workbook.max_shared_strings, 1'000'000u);
  EXPECT_EQ(defaults.config.report.workbook.max_inflated_bytes, 512ULL * 1024 * 1024);
  EXPECT_EQ(defaults.config.report.workbook.max_ratio, 200u);
  const ConfigLoad load = parse(
      "[report]\nmax_shared_strings = 5000\nmax_inflated_bytes = 2097152\n"
      "max_compression_ratio = 50\n");
  ASSERT_TRUE(load.ok()) << all_problems(load);
  const auto& w = load.config.report.workbook;
  EXPECT_EQ(w.max_shared_strings, 5000u);
  EXPECT_EQ(w.max_inflated_bytes, 2097152u);
  EXPECT_EQ(w.max_ratio, 50u);
  EXPECT_EQ(loader_options(load.config).workbook.max_shared_strings, 5000u);
}

TEST(ReportConfig, WorkbookCapsOutOfRangeAreProblems) {
  EXPECT_NE(only_problem("[report]\nmax_shared_strings = 0\n")
                .find("report.max_shared_strings (line 2): must be between 1 and 100000000, got 0"),
            std::string::npos);
  EXPECT_NE(only_problem("[report]\nmax_inflated_bytes = 1000\n")
                .find("report.max_inflated_bytes (line 2): must be between 1048576 and "),
            std::string::npos);
  EXPECT_NE(only_problem("[report]\nmax_compression_ratio = 2\n")
                .find("report.max_compression_ratio (line 2): must be between 10 and 1000000"),
            std::string::npos);
}

TEST(ReportConfig, AnEmptyAliasListIsAProblem) {
  EXPECT_NE(only_problem("[report]\ncount_columns = []\n")
                .find("report.count_columns (line 2): needs at least one column name"),
            std::string::npos);
}

}  // namespace
}  // namespace stockwatch
