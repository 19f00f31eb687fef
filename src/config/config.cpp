#include "config/config.hpp"

#include "base/ascii.hpp"
#include <sys/stat.h>

#include <toml++/toml.h>

#include "http/http_server.hpp"
#include "os/host_name.hpp"
#include "pipeline/event.hpp"
#include "text/masked_password.hpp"
#include "text/masked_url.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

namespace stockwatch {

std::string ConfigProblem::to_string() const {
  std::string out = key.empty() ? std::string("config") : key;
  if (line > 0) out += " (line " + std::to_string(line) + ")";
  out += ": " + message;
  return out;
}

namespace {

const char* type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    default: return "a date or time";
  }
}

int line_of(const toml::node& n) { return static_cast<int>(n.source().begin.line); }

// Reads one table against its list of known keys, recording problems.
class TableReader {
 public:
  TableReader(const toml::table& t, std::string prefix, std::vector<ConfigProblem>& problems)
      : t_(t), prefix_(std::move(prefix)), problems_(problems) {}

  ~TableReader() {
    for (const auto& [k, v] : t_) {
      if (!known_.count(std::string(k.str()))) {
        problems_.push_back({key(std::string(k.str())), line_of(v), "unknown key"});
      }
    }
  }

  std::string key(const std::string& name) const {
    return prefix_.empty() ? name : prefix_ + "." + name;
  }

  void str(const char* name, std::string& out) {
    known_.insert(name);
    const auto* n = t_.get(name);
    if (!n) return;
    if (auto v = n->value<std::string>(); v && n->is_string()) out = *v;
    else wrong(name, *n, "a string");
  }

  void path(const char* name, std::filesystem::path& out, const std::filesystem::path& base) {
    std::string s;
    const bool had = t_.contains(name);
    str(name, s);
    if (had && !s.empty()) out = std::filesystem::path(s).is_absolute() ? std::filesystem::path(s) : base / s;
    else if (had && s.empty()) out.clear();
  }

  void integer64(const char* name, long long& out, long long min, long long max) {
    known_.insert(name);
    const auto* n = t_.get(name);
    if (!n) return;
    if (!n->is_integer()) return wrong(name, *n, "an integer");
    const long long v = *n->value<long long>();
    if (v < min || v > max) {
      problems_.push_back({key(name), line_of(*n),
                           "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                               ", got " + std::to_string(v)});
      return;
    }
    out = v;
  }

  void integer(const char* name, int& out, long long min, long long max) {
    long long v = out;
    integer64(name, v, min, max);
    out = static_cast<int>(v);
  }

  void u64(const char* name, std::uint64_t& out, long long min) {
    known_.insert(name);
    const auto* n = t_.get(name);
    if (!n) return;
    if (!n->is_integer()) return wrong(name, *n, "an integer");
    const long long v = *n->value<long long>();
    if (v < min) {
      problems_.push_back({key(name), line_of(*n), "must be at least " + std::to_string(min)});
      return;
    }
    out = static_cast<std::uint64_t>(v);
  }

  void boolean(const char* name, bool& out) {
    known_.insert(name);
    const auto* n = t_.get(name);
    if (!n) return;
    if (!n->is_boolean()) return wrong(name, *n, "true or false");
    out = *n->value<bool>();
  }

  void choice(const char* name, std::string& out, std::initializer_list<const char*> allowed) {
    const int line = t_.get(name) ? line_of(*t_.get(name)) : 0;
    std::string v = out;
    str(name, v);
    for (const char* a : allowed) {
      if (v == a) {
        out = v;
        return;
      }
    }
    std::string list;
    for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + '"' + a + '"';
    problems_.push_back({key(name), line, "must be one of " + list + ", got \"" + v + "\""});
  }

  // A string or an array of strings.
  void strings(const char* name, std::vector<std::string>& out) {
    known_.insert(name);
    const auto* n = t_.get(name);
    if (!n) return;
    if (n->is_string()) {
      out = {*n->value<std::string>()};
      return;
    }
    if (!n->is_array()) return wrong(name, *n, "a string or an array of strings");
    out.clear();
    for (const auto& e : *n->as_array()) {
      if (!e.is_string()) return wrong(name, e, "an array of strings");
      out.push_back(*e.value<std::string>());
    }
  }

  const toml::table* table(const char* name) {
    known_.insert(name);
    const auto* n = t_.get(name);
    if (!n) return nullptr;
    if (!n->is_table()) {
      wrong(name, *n, "a table");
      return nullptr;
    }
    return n->as_table();
  }

  const toml::array* array_of_tables(const char* name) {
    known_.insert(name);
    const auto* n = t_.get(name);
    if (!n) return nullptr;
    if (!n->is_array_of_tables()) {
      wrong(name, *n, "an array of tables ([[" + key(name) + "]])");
      return nullptr;
    }
    return n->as_array();
  }

  void wrong(const char* name, const toml::node& n, const std::string& expected) {
    problems_.push_back({key(name), line_of(n),
                         "expected " + expected + ", got " + type_name(n)});
  }

 private:
  const toml::table& t_;
  std::string prefix_;
  std::vector<ConfigProblem>& problems_;
  std::set<std::string> known_;
};

bool plausible_address(const std::string& a) {
  const auto at = a.find('@');
  if (at == std::string::npos || at == 0 || at + 1 >= a.size()) return false;
  for (unsigned char c : a) {
    if (c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == ',' || c == '"') return false;
  }
  return true;
}

}  // namespace

std::filesystem::path StorageConfig::scratch_dir() const {
  std::filesystem::path dir = database.parent_path();
  std::error_code ec;
  if (backend != "sqlite" && !std::filesystem::is_directory(dir, ec)) {
    dir = std::filesystem::temp_directory_path(ec);
  }
  return dir;
}

std::string StorageConfig::shown_location() const {
  return backend == "postgresql" ? mask_password(url) : database.string();
}

namespace {

// A password: from `file` (refused when every user of the machine can read
// or write it), else the environment variable `env`, else the systemd
// credential `credential` ($CREDENTIALS_DIRECTORY/<credential>); `out`
// stays empty when none is given.
void read_secret(const char* key, const std::filesystem::path& file, const char* env,
                 const char* credential, std::string& out, std::vector<ConfigProblem>& problems) {
  if (!file.empty()) {
    std::ifstream in(file);
    struct stat st {};
    if (in && ::stat(file.c_str(), &st) == 0 && (st.st_mode & (S_IROTH | S_IWOTH))) {
      // Every user of the machine could read (or replace) the password.
      problems.push_back({key, 0,
                          file.string() + " can be " + ((st.st_mode & S_IROTH) ? "read" : "written") +
                              " by every user of this machine; make it private: chmod 600 " +
                              file.string() + " (or chmod 640 with the group stockwatch runs as)"});
    } else if (!in) {
      problems.push_back({key, 0, "cannot read " + file.string()});
    } else {
      std::getline(in, out);
    }
  } else if (const char* value = std::getenv(env)) {
    out = value;
  } else if (const char* creds = std::getenv("CREDENTIALS_DIRECTORY")) {
    std::ifstream in(std::filesystem::path(creds) / credential);
    if (in) std::getline(in, out);
  }
}

bool is_http_url(std::string_view url) {
  const auto lower_starts = [&](std::string_view prefix) {
    if (url.size() <= prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
      if (ascii_lower(url[i]) != prefix[i]) return false;
    }
    return true;
  };
  if (!lower_starts("http://") && !lower_starts("https://")) return false;
  for (const unsigned char c : url) {
    if (c <= 0x20 || c == 0x7F) return false;
  }
  return true;
}

// A secret kept in a file (a webhook's signing secret, the Telegram bot
// token): refused when it cannot be read, is empty, or every user of the
// machine may read or write it. The first line, without its line end.
void read_secret_file(const std::string& key, int line, const std::filesystem::path& file,
                      std::string& out, std::vector<ConfigProblem>& problems) {
  struct stat st {};
  std::ifstream in(file);
  if (!in || ::stat(file.c_str(), &st) != 0) {
    problems.push_back({key, line,
                        "cannot read " + file.string() +
                            "; create it (one line, the secret) readable by the user stockwatch "
                            "runs as"});
    return;
  }
  if (st.st_mode & (S_IROTH | S_IWOTH)) {
    problems.push_back({key, line,
                        file.string() + " can be " + ((st.st_mode & S_IROTH) ? "read" : "written") +
                            " by every user of this machine; make it private: chmod 600 " +
                            file.string() + " (or chmod 640 with the group stockwatch runs as)"});
    return;
  }
  std::getline(in, out);
  while (!out.empty() && (out.back() == '\r' || out.back() == ' ' || out.back() == '\t')) {
    out.pop_back();
  }
  if (out.empty()) {
    problems.push_back(
        {key, line, file.string() + " is empty; its first line must hold the secret"});
  }
}

// The channel of one [[alerts.subscription]]: exactly one of email,
// webhook (with its secret_file) and telegram.
void read_channel(const toml::table& st, const std::string& prefix, Subscription& sub,
                  std::vector<ConfigProblem>& problems) {
  const auto line = [&](const char* key) {
    return st.get(key) ? line_of(*st.get(key)) : line_of(st);
  };
  const int channels = (sub.emails.empty() ? 0 : 1) + (sub.webhook.empty() ? 0 : 1) +
                       (sub.telegram.empty() ? 0 : 1);
  if (channels == 0) {
    problems.push_back({prefix + ".email", line_of(st),
                        "a subscription needs an email, a webhook or a telegram chat id"});
  } else if (channels > 1) {
    problems.push_back({prefix, line_of(st),
                        "has more than one of email, webhook and telegram; give each channel its "
                        "own [[alerts.subscription]]"});
  }
  for (const auto& e : sub.emails) {
    if (!plausible_address(e)) {
      problems.push_back(
          {prefix + ".email", line("email"), "\"" + e + "\" is not an email address"});
    }
  }
  if (!sub.webhook.empty()) {
    if (!is_http_url(sub.webhook)) {
      problems.push_back({prefix + ".webhook", line("webhook"),
                          "\"" + mask_url_path(sub.webhook) +
                              "\" is not an http:// or https:// URL"});
    }
    if (sub.secret_file.empty()) {
      problems.push_back({prefix + ".secret_file", line("webhook"),
                          "a webhook needs secret_file: a file only stockwatch can read (chmod "
                          "600) whose first line is the secret every message is signed with "
                          "(X-Stockwatch-Signature)"});
    } else {
      read_secret_file(prefix + ".secret_file", line("secret_file"), sub.secret_file, sub.secret,
                       problems);
    }
  } else if (!sub.secret_file.empty()) {
    problems.push_back({prefix + ".secret_file", line("secret_file"),
                        "is for webhook subscriptions; this subscription has no webhook"});
  }
  if (!sub.telegram.empty()) {
    bool ok = sub.telegram.size() <= 64;
    for (std::size_t i = 0; i < sub.telegram.size(); ++i) {
      const char c = sub.telegram[i];
      const bool digit = c >= '0' && c <= '9';
      const bool name = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
      const bool sign = i == 0 && (c == '-' || c == '@');
      if (!(digit || sign || (i > 0 && name && sub.telegram[0] == '@'))) {
        ok = false;
      }
    }
    if (!ok) {
      problems.push_back({prefix + ".telegram", line("telegram"),
                          "\"" + sub.telegram +
                              "\" is not a Telegram chat id: a number such as \"123456789\" (a "
                              "person) or \"-1001234567890\" (a group), or \"@channelname\""});
    }
  }
}

void read_config(const toml::table& root, const std::filesystem::path& base, Config& cfg,
                 std::vector<ConfigProblem>& problems) {
  // Defaults that depend on the base directory.
  cfg.storage.database = base / "var/stockwatch.db";
  cfg.inbox.path = base / "var/inbox";
  cfg.inbox.processed = base / "var/processed";
  cfg.inbox.failed = base / "var/failed";
  cfg.smtp.maildir = base / "var/mail";

  TableReader r(root, "", problems);
  std::vector<int> telegram_lines;  // per subscription, for problems found at the end
  if (const auto* t = r.table("storage")) {
    TableReader s(*t, "storage", problems);
    s.choice("backend", cfg.storage.backend, {"sqlite", "postgresql"});
    s.path("database", cfg.storage.database, base);
    s.str("url", cfg.storage.url);
    s.path("password_file", cfg.storage.password_file, base);
    s.choice("synchronous", cfg.storage.synchronous, {"normal", "full"});
    s.integer("busy_timeout_ms", cfg.storage.busy_timeout_ms, 0, 600000);
    s.integer("claim_lease_s", cfg.storage.claim_lease_s, 5, 86400);
  }
  if (const auto* t = r.table("inbox")) {
    TableReader s(*t, "inbox", problems);
    s.path("path", cfg.inbox.path, base);
    s.path("processed", cfg.inbox.processed, base);
    s.path("failed", cfg.inbox.failed, base);
    s.choice("mode", cfg.inbox.mode, {"auto", "inotify", "poll"});
    s.integer("settle_ms", cfg.inbox.settle_ms, 0, 3600000);
    s.integer("poll_interval_ms", cfg.inbox.poll_interval_ms, 50, 3600000);
    s.integer("rescan_interval_s", cfg.inbox.rescan_interval_s, 0, 86400);
    s.integer("write_timeout_s", cfg.inbox.write_timeout_s, 1, 604800);
    s.u64("max_report_bytes", cfg.inbox.max_report_bytes, 1);
    s.choice("archive", cfg.inbox.archive, {"move", "delete"});
    s.str("bucket", cfg.inbox.bucket);
    s.boolean("shared", cfg.inbox.shared);
  }
  if (const auto* t = r.table("alerts")) {
    TableReader s(*t, "alerts", problems);
    s.str("from", cfg.alerts.from);
    s.str("subject", cfg.alerts.subject);
    s.boolean("notify_rejected", cfg.alerts.notify_rejected);
    s.boolean("back_in_stock", cfg.alerts.back_in_stock);
    s.choice("group", cfg.alerts.group, {"report", "item"});
    {
      long long v = cfg.alerts.default_minimum;
      s.integer64("default_minimum", v, 0, 1'000'000'000);
      cfg.alerts.default_minimum = v;
    }
    s.integer("still_out_every_days", cfg.alerts.still_out_every_days, 0, 3650);
    s.str("timezone", cfg.alerts.timezone);
    if (auto zone = TimeZone::load(cfg.alerts.timezone); zone) {
      cfg.alerts.zone = *zone;
    } else {
      problems.push_back({"alerts.timezone", t->get("timezone") ? line_of(*t->get("timezone")) : 0,
                          zone.error().message()});
    }
    s.integer("warn_days_ahead", cfg.alerts.warn_days_ahead, 0, 365);
    s.integer("transfer_keep_days", cfg.alerts.transfer_keep_days, 0, 365);
    s.choice("language", cfg.alerts.language, {"en", "id"});
    if (!plausible_address(cfg.alerts.from)) {
      problems.push_back({"alerts.from", t->get("from") ? line_of(*t->get("from")) : 0,
                          "\"" + cfg.alerts.from + "\" is not an email address"});
    }
    if (const auto* subs = s.array_of_tables("subscription")) {
      int index = 0;
      for (const auto& node : *subs) {
        const auto& st = *node.as_table();
        const std::string prefix = "alerts.subscription[" + std::to_string(index++) + "]";
        TableReader sr(st, prefix, problems);
        Subscription sub;
        sr.strings("email", sub.emails);
        sr.strings("stores", sub.stores);
        sr.strings("events", sub.events);
        sr.str("digest", sub.digest);
        sr.boolean("digest_quiet", sub.digest_quiet);
        if (!sub.digest.empty()) {
          if (auto d = parse_recurrence(sub.digest, cfg.alerts.zone); d) {
            sub.digest_schedule = *d;
          } else {
            problems.push_back({prefix + ".digest", line_of(*st.get("digest")), d.error().message()});
          }
        }
        sr.str("webhook", sub.webhook);
        sr.path("secret_file", sub.secret_file, base);
        sr.str("telegram", sub.telegram);
        sub.language = cfg.alerts.language;
        sr.choice("language", sub.language, {"en", "id"});
        read_channel(st, prefix, sub, problems);
        telegram_lines.push_back(st.get("telegram") ? line_of(*st.get("telegram")) : line_of(st));
        for (const auto& ev : sub.events) {
          if (!event_from_name(ev)) {
            problems.push_back({prefix + ".events", line_of(*st.get("events")),
                                "unknown event \"" + ev + "\"; use " +
                                    std::string(event_names_listed())});
          }
        }
        cfg.alerts.subscriptions.push_back(std::move(sub));
      }
    }
    if (const auto* rules = s.array_of_tables("expect")) {
      int index = 0;
      for (const auto& node : *rules) {
        const auto& et = *node.as_table();
        const std::string prefix = "alerts.expect[" + std::to_string(index++) + "]";
        TableReader er(et, prefix, problems);
        ExpectRule rule;
        rule.line = line_of(et);
        er.strings("stores", rule.stores);
        er.integer("within_days", rule.within_days, 1, 3660);
        er.integer("day_of_month", rule.day_of_month, 1, 28);
        er.integer("escalate_after_days", rule.escalate_after_days, 0, 3660);
        if ((rule.within_days > 0) == (rule.day_of_month > 0)) {
          problems.push_back({prefix, rule.line,
                              "give either within_days (a report at most this many days after "
                              "the last one, such as 35) or day_of_month (the report of a month "
                              "due by this day of the next, such as 5), not both and not neither"});
        }
        cfg.alerts.expect.push_back(std::move(rule));
      }
    }
  }
  if (const auto* t = r.table("telegram")) {
    TableReader s(*t, "telegram", problems);
    s.path("token_file", cfg.telegram.token_file, base);
    s.str("api_url", cfg.telegram.api_url);
    const auto line = [t](const char* key) {
      return t->get(key) ? line_of(*t->get(key)) : line_of(*t);
    };
    if (!is_http_url(cfg.telegram.api_url)) {
      problems.push_back({"telegram.api_url", line("api_url"),
                          "\"" + cfg.telegram.api_url +
                              "\" is not an http:// or https:// URL; leave it out for Telegram's "
                              "own (https://api.telegram.org)"});
    }
    if (cfg.telegram.token_file.empty()) {
      problems.push_back({"telegram.token_file", line("token_file"),
                          "names no file; put the bot token from @BotFather in a file only "
                          "stockwatch can read (chmod 600) and name it here"});
    } else {
      read_secret_file("telegram.token_file", line("token_file"), cfg.telegram.token_file,
                       cfg.telegram.token, problems);
    }
  }
  if (const auto* t = r.table("smtp")) {
    TableReader s(*t, "smtp", problems);
    s.str("url", cfg.smtp.url);
    s.path("maildir", cfg.smtp.maildir, base);
    s.choice("starttls", cfg.smtp.starttls, {"required", "opportunistic", "off"});
    s.str("username", cfg.smtp.username);
    s.path("password_file", cfg.smtp.password_file, base);
    s.path("ca_file", cfg.smtp.ca_file, base);
    s.boolean("tls_verify", cfg.smtp.tls_verify);
    s.integer("connect_timeout_s", cfg.smtp.connect_timeout_s, 1, 600);
    s.integer("timeout_s", cfg.smtp.timeout_s, 1, 3600);
    s.integer("shutdown_flush_s", cfg.smtp.shutdown_flush_s, 0, 600);
    s.integer("retry_initial_s", cfg.smtp.retry_initial_s, 1, 3600);
    s.integer("retry_max_s", cfg.smtp.retry_max_s, 1, 86400);
    s.integer("max_attempts", cfg.smtp.max_attempts, 1, 1000);
    s.integer("max_age_s", cfg.smtp.max_age_s, 60, 30 * 86400);
    s.str("helo", cfg.smtp.helo);
    const auto& url = cfg.smtp.url;
    if (!url.empty() && url.rfind("smtp://", 0) != 0 && url.rfind("smtps://", 0) != 0) {
      problems.push_back({"smtp.url", line_of(*t->get("url")),
                          "must start with smtp:// or smtps:// (or be empty to use the maildir)"});
    }
  }
  if (const auto* t = r.table("http")) {
    TableReader s(*t, "http", problems);
    s.str("listen", cfg.http.listen);
    s.str("token", cfg.http.token);
    s.boolean("allow_anonymous_upload", cfg.http.allow_anonymous_upload);
    s.u64("max_upload_bytes", cfg.http.max_upload_bytes, 1);
    s.integer("read_timeout_s", cfg.http.read_timeout_s, 1, 3600);
    s.integer("max_connections", cfg.http.max_connections, 1, 100000);
    s.str("region", cfg.http.region);
    s.integer("multipart_max_age_h", cfg.http.multipart_max_age_h, 1, 24 * 30);
    const int listen_line = t->get("listen") ? line_of(*t->get("listen")) : 0;
    if (!cfg.http.listen.empty()) {
      const auto addr = http::parse_listen(cfg.http.listen);
      if (!addr) {
        problems.push_back({"http.listen", listen_line,
                            "\"" + cfg.http.listen +
                                "\" is not an address and port such as \"127.0.0.1:8080\" or "
                                "\"[::1]:8080\" (an IP address or localhost)"});
      } else if (cfg.http.allow_anonymous_upload && !http::is_loopback_host(addr->host)) {
        problems.push_back({"http.allow_anonymous_upload",
                            t->get("allow_anonymous_upload") ? line_of(*t->get("allow_anonymous_upload")) : 0,
                            "anonymous uploads are allowed only on a loopback address, and "
                            "http.listen is " + cfg.http.listen +
                                "; add an [[http.credential]] and set this to false"});
      }
    }
    if (const auto* creds = s.array_of_tables("credential")) {
      int index = 0;
      for (const auto& node : *creds) {
        const auto& ct = *node.as_table();
        const std::string prefix = "http.credential[" + std::to_string(index++) + "]";
        TableReader cr(ct, prefix, problems);
        HttpCredential c;
        cr.str("access_key", c.access_key);
        cr.str("secret_key", c.secret_key);
        cr.strings("stores", c.stores);
        if (c.access_key.empty() || c.secret_key.empty()) {
          problems.push_back({prefix, line_of(ct), "a credential needs access_key and secret_key"});
        }
        for (const auto& other : cfg.http.credentials) {
          if (other.access_key == c.access_key) {
            problems.push_back({prefix + ".access_key", line_of(ct),
                                "access key \"" + c.access_key + "\" is listed twice"});
          }
        }
        cfg.http.credentials.push_back(std::move(c));
      }
    }
  }
  if (const auto* t = r.table("report")) {
    TableReader s(*t, "report", problems);
    auto& a = cfg.report.aliases;
    for (auto [name, list] : {std::pair<const char*, std::vector<std::string>*>{"store_columns", &a.store},
                              {"item_columns", &a.item},
                              {"count_columns", &a.count}}) {
      s.strings(name, *list);
      if (list->empty()) {
        problems.push_back({s.key(name), t->get(name) ? line_of(*t->get(name)) : 0,
                            "needs at least one column name"});
      }
    }
    long long max_count = cfg.report.limits.max_count;
    int max_name = static_cast<int>(cfg.report.limits.max_name_bytes);
    int max_line = static_cast<int>(cfg.report.limits.max_line_bytes);
    int max_problems = static_cast<int>(cfg.report.limits.max_problems);
    s.integer64("max_count", max_count, 0, 9'000'000'000'000'000'000LL);
    s.integer("max_name_bytes", max_name, 1, 65536);
    s.integer("max_line_bytes", max_line, 256, 16 * 1024 * 1024);
    s.integer("max_problems", max_problems, 1, 100000);
    cfg.report.limits.max_count = max_count;
    cfg.report.limits.max_name_bytes = static_cast<std::size_t>(max_name);
    cfg.report.limits.max_line_bytes = static_cast<std::size_t>(max_line);
    cfg.report.limits.max_problems = static_cast<std::size_t>(max_problems);
    auto& w = cfg.report.workbook;
    long long strings = static_cast<long long>(w.max_shared_strings);
    long long inflated = static_cast<long long>(w.max_inflated_bytes);
    long long ratio = static_cast<long long>(w.max_ratio);
    s.integer64("max_shared_strings", strings, 1, 100'000'000);
    s.integer64("max_inflated_bytes", inflated, 1024 * 1024, 64LL * 1024 * 1024 * 1024);
    s.integer64("max_compression_ratio", ratio, 10, 1'000'000);
    w.max_shared_strings = static_cast<std::size_t>(strings);
    w.max_inflated_bytes = static_cast<std::uint64_t>(inflated);
    w.max_ratio = static_cast<std::uint64_t>(ratio);
  }
  // The sheets and the replies to mailed reports speak [alerts] language
  // unless their own table says otherwise.
  cfg.templates.language = cfg.alerts.language;
  cfg.mailbox.language = cfg.alerts.language;
  if (const auto* t = r.table("templates")) {
    TableReader s(*t, "templates", problems);
    s.str("send", cfg.templates.send);
    s.str("utc_offset", cfg.templates.utc_offset);
    s.choice("language", cfg.templates.language, {"en", "id"});
    const auto line = [t](const char* key) { return t->get(key) ? line_of(*t->get(key)) : 0; };
    auto offset = parse_utc_offset(cfg.templates.utc_offset);
    if (!offset) problems.push_back({s.key("utc_offset"), line("utc_offset"), offset.error().message()});
    if (!cfg.templates.send.empty() && offset) {
      auto schedule = parse_monthly(cfg.templates.send, *offset);
      if (schedule) {
        cfg.templates.schedule = *schedule;
      } else {
        problems.push_back({s.key("send"), line("send"), schedule.error().message()});
      }
    }
  }
  if (const auto* t = r.table("console")) {
    TableReader s(*t, "console", problems);
    s.boolean("enabled", cfg.console.enabled);
    s.boolean("behind_tls", cfg.console.behind_tls);
    s.str("timezone", cfg.console.timezone);
    s.integer("session_idle_minutes", cfg.console.session_idle_minutes, 1, 60 * 24 * 30);
    s.integer("session_max_hours", cfg.console.session_max_hours, 1, 24 * 365);
    s.integer("setup_link_minutes", cfg.console.setup_link_minutes, 1, 60 * 24 * 7);
    s.u64("max_upload_bytes", cfg.console.max_upload_bytes, 1);
    s.integer("upload_wait_s", cfg.console.upload_wait_s, 1, 3600);
    s.integer("quiet_store_days", cfg.console.quiet_store_days, 1, 3660);
    s.integer("workers", cfg.console.workers, 1, 64);
    s.u64("sorted_rows", cfg.console.sorted_rows, 0);
    const auto& tz = cfg.console.timezone;
    std::error_code ec;
    if (!tz.empty() && (tz.find("..") != std::string::npos || tz.front() == '/' ||
                        !std::filesystem::is_regular_file("/usr/share/zoneinfo/" + tz, ec))) {
      problems.push_back({"console.timezone", 0,
                          "\"" + tz + "\" is not a time zone of this system (/usr/share/zoneinfo); "
                          "give one such as \"Asia/Jakarta\", or leave it out for the system's"});
    }
  }
  if (const auto* t = r.table("mailbox")) {
    TableReader s(*t, "mailbox", problems);
    auto& m = cfg.mailbox;
    const auto line = [t](const char* key) { return t->get(key) ? line_of(*t->get(key)) : 0; };
    s.str("url", m.url);
    s.str("username", m.username);
    s.path("password_file", m.password_file, base);
    s.choice("starttls", m.starttls, {"required", "off"});
    s.path("ca_file", m.ca_file, base);
    s.boolean("tls_verify", m.tls_verify);
    s.integer("poll_interval_s", m.poll_interval_s, 1, 86400);
    s.integer("connect_timeout_s", m.connect_timeout_s, 1, 600);
    s.integer("timeout_s", m.timeout_s, 1, 86400);
    s.u64("max_attachment_bytes", m.max_attachment_bytes, 1);
    s.u64("max_message_bytes", m.max_message_bytes, 1024);
    s.integer("max_attachments", m.max_attachments, 1, 10000);
    s.choice("language", m.language, {"en", "id"});
    s.str("from", m.from);
    s.choice("trust", m.trust, {"from", "authentication-results"});
    s.str("authserv_id", m.authserv_id);
    if (!m.url.empty() && !m.url.starts_with("imaps://") && !m.url.starts_with("imap://")) {
      problems.push_back({"mailbox.url", line("url"),
                          "\"" + m.url + "\" is not an IMAP URL; give one such as "
                          "\"imaps://imap.example.com/INBOX\""});
    }
    if (!m.url.empty() && m.username.empty()) {
      problems.push_back({"mailbox.username", line("username"), "the mailbox needs a username"});
    }
    if (!m.from.empty() && !plausible_address(m.from)) {
      problems.push_back({"mailbox.from", line("from"), "\"" + m.from + "\" is not an email address"});
    }
    if (m.trust == "authentication-results" && m.authserv_id.empty()) {
      problems.push_back({"mailbox.authserv_id", line("trust"),
                          "with trust = \"authentication-results\", name the receiving mail "
                          "server's id as it writes it in Authentication-Results (such as "
                          "\"mx.example.com\")"});
    }
    if (const auto* senders = s.array_of_tables("sender")) {
      int index = 0;
      for (const auto& node : *senders) {
        const auto& st = *node.as_table();
        const std::string prefix = "mailbox.sender[" + std::to_string(index++) + "]";
        TableReader sr(st, prefix, problems);
        MailboxSender snd;
        sr.str("address", snd.address);
        sr.strings("stores", snd.stores);
        if (st.contains("language")) {
          snd.language = "en";
          sr.choice("language", snd.language, {"en", "id"});
        }
        if (!plausible_address(snd.address)) {
          problems.push_back({prefix + ".address", line_of(st),
                              "\"" + snd.address + "\" is not an email address"});
        }
        for (const auto& other : m.senders) {
          if (ascii_lower(other.address) == ascii_lower(snd.address)) {
            problems.push_back({prefix + ".address", line_of(st),
                                "\"" + snd.address + "\" is listed twice"});
          }
        }
        m.senders.push_back(std::move(snd));
      }
    }
  }
  if (const auto* t = r.table("log")) {
    TableReader s(*t, "log", problems);
    s.choice("level", cfg.log.level, {"trace", "debug", "info", "warn", "error", "critical", "off"});
  }
  if (const auto* t = r.table("node")) {
    TableReader s(*t, "node", problems);
    s.str("name", cfg.node.name);
    cfg.node.named = t->contains("name");
    const bool plain = std::all_of(cfg.node.name.begin(), cfg.node.name.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
    });
    if (cfg.node.named && (cfg.node.name.empty() || cfg.node.name.size() > 64 || !plain)) {
      problems.push_back({"node.name", t->get("name") ? line_of(*t->get("name")) : 0,
                          "\"" + cfg.node.name + "\" is not a node name: use 1 to 64 letters, "
                          "digits, dots, hyphens or underscores, e.g. \"node-a\""});
    }
  }
  if (cfg.node.name.empty()) cfg.node.name = host_name();

  // Paths that must make sense together.
  if (cfg.storage.backend == "sqlite" && cfg.storage.database.empty()) {
    problems.push_back({"storage.database", 0, "must name a file"});
  }
  if (cfg.storage.backend == "postgresql" && !cfg.storage.url.starts_with("postgresql://") &&
      !cfg.storage.url.starts_with("postgres://")) {
    problems.push_back({"storage.url", 0,
                        "with backend = \"postgresql\", must be a URL such as "
                        "\"postgresql://stockwatch@db.example.com:5432/stockwatch?sslmode="
                        "verify-full\""});
  }
  if (cfg.storage.backend == "sqlite" && !cfg.storage.url.empty()) {
    problems.push_back({"storage.url", 0,
                        "is for backend = \"postgresql\"; with SQLite, storage.database names "
                        "the file"});
  }
  // A claim must outlast one delivery, or a slow send could be taken over
  // and sent a second time by another node.
  if (cfg.storage.claim_lease_s <= cfg.smtp.timeout_s) {
    problems.push_back({"storage.claim_lease_s", 0,
                        "must be longer than smtp.timeout_s (" +
                            std::to_string(cfg.smtp.timeout_s) +
                            " s), so that a message's claim outlasts its delivery; raise it "
                            "or lower smtp.timeout_s"});
  }
  auto inside = [](const std::filesystem::path& a, const std::filesystem::path& b) {
    const auto rel = a.lexically_normal().lexically_relative(b.lexically_normal());
    return !rel.empty() && *rel.begin() != "..";
  };
  for (const auto& [key, dir] : {std::pair<const char*, std::filesystem::path>{"inbox.processed", cfg.inbox.processed},
                                 {"inbox.failed", cfg.inbox.failed}}) {
    if (dir.empty()) {
      problems.push_back({key, 0, "must name a folder"});
    } else if (inside(dir, cfg.inbox.path) || inside(cfg.inbox.path, dir)) {
      problems.push_back({key, 0,
                          "must be outside the inbox (" + cfg.inbox.path.string() +
                              "), or archived reports would be read again"});
    }
  }
  if (cfg.smtp.url.empty() && cfg.smtp.maildir.empty()) {
    problems.push_back({"smtp.maildir", 0,
                        "with smtp.url empty, alerts are written to the maildir, so it must name a "
                        "folder"});
  }
  for (std::size_t i = 0; i < cfg.alerts.subscriptions.size(); ++i) {
    if (!cfg.alerts.subscriptions[i].telegram.empty() && cfg.telegram.token_file.empty() &&
        !root.contains("telegram")) {
      problems.push_back({"alerts.subscription[" + std::to_string(i) + "].telegram",
                          telegram_lines.at(i),
                          "a Telegram subscription needs the bot's token: add [telegram] with "
                          "token_file = \"/etc/stockwatch/telegram-token\" (a file only stockwatch "
                          "can read)"});
    }
  }
  if (cfg.alerts.subscriptions.empty()) {
    problems.push_back({"alerts.subscription", 0,
                        "no subscription: nobody would be told about out-of-stock items; add "
                        "[[alerts.subscription]] with email = \"you@example.com\""});
  }

  read_secret("smtp.password_file", cfg.smtp.password_file, "STOCKWATCH_SMTP_PASSWORD",
              "smtp-password", cfg.smtp.password, problems);
  if (!cfg.mailbox.url.empty()) {
    read_secret("mailbox.password_file", cfg.mailbox.password_file, "STOCKWATCH_MAILBOX_PASSWORD",
                "mailbox-password", cfg.mailbox.password, problems);
  }
  if (cfg.storage.backend == "postgresql") {
    read_secret("storage.password_file", cfg.storage.password_file, "PGPASSWORD", "db-password",
                cfg.storage.password, problems);
  }
}

}  // namespace

ConfigLoad parse_config(const std::string& text, const std::string& source_name,
                        const std::filesystem::path& base) {
  ConfigLoad out;
  out.config.source = source_name;
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    out.problems.push_back({"", static_cast<int>(e.source().begin.line),
                            std::string(e.description())});
    return out;
  }
  read_config(root, base, out.config, out.problems);
  return out;
}

ConfigLoad load_config(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    ConfigLoad out;
    out.config.source = file;
    out.problems.push_back({"", 0, "cannot read config file " + file.string()});
    return out;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::error_code ec;
  auto base = std::filesystem::current_path(ec);
  auto out = parse_config(ss.str(), file.string(), base);
  out.config.source = std::filesystem::absolute(file, ec);
  return out;
}

}  // namespace stockwatch
