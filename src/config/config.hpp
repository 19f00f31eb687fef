// The daemon's configuration, read from a TOML file.
//
// Contract: `load_config` never throws for a bad file; it returns every
// problem it found, each naming the key and the line ("inbox.settle_ms
// (line 12): expected an integer, got a string"). Unknown keys are problems.
// Relative paths in the file are resolved against the process's working
// directory at load time, so a loaded Config holds absolute paths only.
// A Config is a plain value: copy it freely, read it from any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "report/report_parser.hpp"
#include "report/workbook/workbook_reader.hpp"
#include "base/result.hpp"
#include "base/schedule.hpp"

namespace stockwatch {

struct Subscription {
  std::vector<std::string> emails;   // one or more addresses
  std::vector<std::string> stores;   // empty = every store
  std::vector<std::string> events;   // empty = every enabled event
  // The other channels (docs/alerts.md); a subscription has exactly one of
  // email, webhook and telegram.
  std::string webhook;                  // an http(s) URL: signed JSON POSTs
  std::filesystem::path secret_file;    // webhook: the signing secret's file
  std::string secret;                   // webhook: resolved at load; never logged
  std::string telegram;                 // a Telegram chat id
  std::string language;                 // "en" or "id"; resolved at load from alerts.language
  // A summary on a schedule in [alerts] timezone (docs/alerts.md#digests):
  // "daily 07:00", "weekly mon 07:00", "monthly 1 07:00"; empty = none.
  std::string digest;
  bool digest_quiet = true;          // a period with nothing to report: a short
                                     // "all in stock" digest (false: none)
  std::optional<Recurrence> digest_schedule;  // `digest` read
};

// [[alerts.expect]]: when each store's report is due (docs/alerts.md#missing-reports).
struct ExpectRule {
  std::vector<std::string> stores;   // empty = every store a report has named
  int within_days = 0;               // due this many days after the last one, or
  int day_of_month = 0;              // the report of a month due by this day of the next
  int escalate_after_days = 0;       // then again to every-store subscriptions; 0 = never
  int line = 0;                      // where it is written, for messages
};

struct StorageConfig {
  std::string backend = "sqlite";       // "sqlite" or "postgresql"
  std::filesystem::path database;       // sqlite: the database file
  std::string url;                      // postgresql: a libpq URL (postgresql://...)
  std::filesystem::path password_file;  // postgresql: the password, if not in the environment
  std::string password;                 // resolved at load; never logged
  std::string synchronous = "normal";   // durability: "normal" or "full"
  int busy_timeout_ms = 5000;
  int claim_lease_s = 600;              // an outbox claim outlives a node that died this long

  // Where the data lives, as Storage::open takes it: the file (sqlite) or
  // the URL (postgresql). Not for logs: see shown_location().
  [[nodiscard]] std::filesystem::path location() const {
    return backend == "postgresql" ? std::filesystem::path(url) : database;
  }
  // The same with any password in the URL masked.
  [[nodiscard]] std::string shown_location() const;
  // The folder for scratch files kept beside the data (rows being sorted,
  // a sheet being written): the database file's folder; for a server
  // database, where that file would be (the packaged configuration's
  // /var/lib/stockwatch) if the folder exists, else the system's temporary
  // folder. Empty when `database` names no folder.
  [[nodiscard]] std::filesystem::path scratch_dir() const;
};

struct InboxConfig {
  std::filesystem::path path;
  std::filesystem::path processed;
  std::filesystem::path failed;
  std::string mode = "auto";            // "auto", "inotify" or "poll"
  int settle_ms = 1000;                 // quiet time for files not seen closed
  int poll_interval_ms = 2000;          // poll mode only
  int rescan_interval_s = 300;          // periodic reconciliation scan
  int write_timeout_s = 600;            // a file seen written but never closed is read
                                        // after it has not changed for this long
  std::uint64_t max_report_bytes = 2ULL * 1024 * 1024 * 1024;  // 2 GiB
  std::string archive = "move";         // "move" or "delete"
  std::string bucket = "inventory";     // S3 bucket name for HTTP uploads
  bool shared = false;                  // several nodes poll this folder: claim each file
};

struct AlertsConfig {
  std::string from = "stockwatch@localhost";
  std::string subject = "Inventory Alert!";
  std::vector<Subscription> subscriptions;
  bool notify_rejected = true;
  bool back_in_stock = false;
  std::string group = "report";         // "report" or "item"
  // Minimum levels: the minimum of an item no levels file line matches
  // (0: only a count of 0 alerts).
  std::int64_t default_minimum = 0;
  // A still_out reminder every this many days while an item stays at 0
  // (0: never).
  int still_out_every_days = 0;
  std::string timezone;                 // of digests and deadlines; empty = the system's
  TimeZone zone;                        // `timezone` read
  std::vector<ExpectRule> expect;
  int warn_days_ahead = 14;             // running_out: days of notice (plus the next report's wait)
  int transfer_keep_days = 30;          // transfers leave the giving store this many days of cover
  std::string language = "en";          // of alerts without their own, and of .error.txt files
};

// The Telegram Bot API, for subscriptions with `telegram = "<chat id>"`.
struct TelegramConfig {
  std::filesystem::path token_file;     // the bot token's file (chmod 600)
  std::string token;                    // resolved at load; never logged
  std::string api_url = "https://api.telegram.org";
};

struct SmtpConfig {
  std::string url;                      // empty = write to the maildir
  std::filesystem::path maildir;
  std::string starttls = "required";    // "required", "opportunistic", "off"
  std::string username;
  std::filesystem::path password_file;
  std::string password;                 // resolved at load; never logged
  std::filesystem::path ca_file;
  bool tls_verify = true;
  int connect_timeout_s = 10;
  int timeout_s = 60;
  int shutdown_flush_s = 10;            // SIGTERM: time left to send what is due
  int retry_initial_s = 5;
  int retry_max_s = 600;
  int max_attempts = 200;                // at the 10-minute cap: about 33 hours
  int max_age_s = 24 * 3600;            // gives up after a day (SNS: 6 hours)
  std::string helo;                     // empty = libcurl's default
};

// An S3 access key that may upload reports (AWS Signature Version 4).
struct HttpCredential {
  std::string access_key;
  std::string secret_key;
  std::vector<std::string> stores;      // empty = any store; else every row's store must be listed
};

struct HttpConfig {
  std::string listen;                   // "127.0.0.1:8080"; empty = no HTTP server
  std::string token;                    // bearer token for /api/* and /metrics; empty = open
  bool allow_anonymous_upload = false;  // only on a loopback address
  std::uint64_t max_upload_bytes = 1ULL << 30;   // 1 GiB
  int read_timeout_s = 30;              // between two pieces of a request
  int max_connections = 256;
  std::string region;                   // empty = any region in the signature's scope
  int multipart_max_age_h = 24;         // unfinished multipart uploads are removed after this
  std::vector<HttpCredential> credentials;
};

// How reports are read (docs/report-format.md).
struct ReportConfig {
  HeaderAliases aliases;
  ParserLimits limits;
  workbook::WorkbookLimits workbook;  // .xlsx and .ods: max_shared_strings, max_inflated_bytes, max_compression_ratio
};

// The stock-count sheets mailed to each store's subscribers (docs/templates.md).
struct TemplatesConfig {
  std::string send;                     // "monthly 1 07:00"; empty = never
  std::string utc_offset = "+00:00";    // the time zone of `send`
  std::string language = "en";          // of the sheets and their emails: "en" or "id"
  std::optional<MonthlySchedule> schedule;  // `send` read; absent when it is empty
};

// The web console (docs/console.md), served by the HTTP server under /_console/.
struct ConsoleConfig {
  bool enabled = true;                  // with http.listen set
  bool behind_tls = false;              // the session cookie is marked Secure
  std::string timezone;                 // IANA name ("Asia/Jakarta"); empty = the system's
  int session_idle_minutes = 120;       // a session unused this long ends
  int session_max_hours = 24 * 7;       // and every session ends after this long
  int setup_link_minutes = 60;          // the first owner's one-time link expires after this
  std::uint64_t max_upload_bytes = 64ULL * 1024 * 1024;   // one upload form, every file together
  int upload_wait_s = 60;               // how long the upload page waits for the ledger
  int quiet_store_days = 35;            // a store without a report for longer is "not reporting"
  // Threads rendering pages, each with its own connections: one per core of
  // the machine the default is measured on (docs/console.md, "Page times").
  int workers = 2;
  // Inventory rows kept in memory, in count and last-change order, for the
  // pages sorted so over every store (about 65 bytes a row); past this
  // many, those pages sort in the database; 0: always in the database.
  std::uint64_t sorted_rows = 2'000'000;
};

// One address that may send reports by email ([[mailbox.sender]]).
struct MailboxSender {
  std::string address;                  // compared without regard to case
  std::vector<std::string> stores;      // empty = any store; else every row's store must be listed
  std::string language;                 // of the replies: "en" or "id"; empty = mailbox.language
  bool operator==(const MailboxSender&) const = default;
};

// The mailbox that reports arrive in by email (docs/inbox.md, "Sending by email").
struct MailboxConfig {
  std::string url;                      // imaps://host/INBOX or imap://host/INBOX; empty = off
  std::string username;
  std::filesystem::path password_file;
  std::string password;                 // resolved at load; never logged
  std::string starttls = "required";    // imap:// only: "required" or "off" (a test server on loopback)
  std::filesystem::path ca_file;
  bool tls_verify = true;
  int poll_interval_s = 60;             // between two looks when the server has no IDLE
  int connect_timeout_s = 10;
  int timeout_s = 300;                  // one IMAP command (a large mail's download)
  std::uint64_t max_attachment_bytes = 50ULL * 1024 * 1024;   // a larger attachment is refused
  std::uint64_t max_message_bytes = 100ULL * 1024 * 1024;     // a larger mail is not downloaded
  int max_attachments = 100;            // report attachments read from one mail
  std::string language = "en";          // of replies to senders without their own
  std::string from;                     // replies' From; empty = alerts.from
  std::string trust = "from";           // "from" or "authentication-results"
  std::string authserv_id;              // trust = "authentication-results": the receiving server's id
  std::vector<MailboxSender> senders;
  bool operator==(const MailboxConfig&) const = default;   // a reload changed nothing
};

struct LogConfig {
  std::string level = "info";
};

// This node's name among several sharing one PostgreSQL database: in its
// log lines, as the `node` label of its metrics, in /readyz and in the
// claims it holds. Default: the host's name.
struct NodeConfig {
  std::string name;     // never empty once loaded
  bool named = false;   // set in the file (not the host's name)
  // Whether log lines carry the name: on PostgreSQL (several nodes may
  // share the database) or when it was set.
  [[nodiscard]] bool in_logs(const StorageConfig& storage) const {
    return named || storage.backend == "postgresql";
  }
};

struct Config {
  std::filesystem::path source;         // the file it was read from
  StorageConfig storage;
  InboxConfig inbox;
  AlertsConfig alerts;
  TelegramConfig telegram;
  SmtpConfig smtp;
  HttpConfig http;
  ReportConfig report;
  TemplatesConfig templates;
  ConsoleConfig console;
  MailboxConfig mailbox;
  LogConfig log;
  NodeConfig node;
};

struct ConfigProblem {
  std::string key;   // dotted key, e.g. "smtp.url"; empty for syntax errors
  int line = 0;      // 1-based, 0 when unknown
  std::string message;
  [[nodiscard]] std::string to_string() const;  // "smtp.url (line 3): ..."
};

struct ConfigLoad {
  Config config;
  std::vector<ConfigProblem> problems;  // empty = valid
  [[nodiscard]] bool ok() const { return problems.empty(); }
};

// Reads and validates `file`. Never throws for bad content.
[[nodiscard]] ConfigLoad load_config(const std::filesystem::path& file);
// Same, from a string (for tests); relative paths resolve against `base`.
[[nodiscard]] ConfigLoad parse_config(const std::string& text, const std::string& source_name,
                                      const std::filesystem::path& base);

}  // namespace stockwatch
