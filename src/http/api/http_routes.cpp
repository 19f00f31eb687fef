#include "http/api/http_routes.hpp"

#include <boost/json.hpp>

#include <cmath>
#include <ctime>
#include <map>

#include "crypto/digest.hpp"
#include "http/s3/s3_protocol.hpp"
#include "daemon/metrics.hpp"
#include "notify/alert.hpp"
#include "pipeline/usage.hpp"
#include "notify/channel.hpp"
#include "report/report_problem.hpp"
#include "store/storage.hpp"

namespace stockwatch {

namespace json = boost::json;

namespace {

constexpr int kDefaultLimit = 100;
constexpr int kMaxLimit = 1000;

std::string rfc3339(TimePoint t) {
  if (t.time_since_epoch().count() == 0) return {};
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>(ms));
  return format_utc(t, "%Y-%m-%dT%H:%M:%S") + frac;
}

json::value time_or_null(TimePoint t) {
  const auto s = rfc3339(t);
  return s.empty() ? json::value(nullptr) : json::value(s);
}

http::Response json_response(unsigned status, const json::value& v) {
  return http::make_response(status, json::serialize(v) + "\n", "application/json");
}

// The query's parameters, and the problem with them if any.
struct Params {
  std::map<std::string, std::string> values;
  std::string problem;

  explicit Params(const std::string& query, std::initializer_list<const char*> known) {
    for (auto& [name, value] : decode_query(query)) {
      bool ok = false;
      for (const char* k : known) ok = ok || name == k;
      if (!ok && problem.empty()) {
        std::string list;
        for (const char* k : known) list += std::string(list.empty() ? "" : ", ") + k;
        problem = "unknown parameter '" + name + "'; this route takes " + list;
      }
      values[name] = std::move(value);
    }
  }
  [[nodiscard]] std::optional<std::string> get(const char* name) const {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  }
  // A whole number in [min, max], or the default; sets `problem` otherwise.
  std::int64_t number(const char* name, std::int64_t def, std::int64_t min, std::int64_t max) {
    const auto v = get(name);
    if (!v) return def;
    try {
      std::size_t used = 0;
      const long long n = std::stoll(*v, &used);
      if (used == v->size() && n >= min && n <= max) return n;
    } catch (...) {
    }
    if (problem.empty()) {
      problem = std::string(name) + " must be a whole number from " + std::to_string(min) + " to " +
                std::to_string(max) + ", got '" + *v + "'";
    }
    return def;
  }
};

// The value among `all` whose name is the parameter `name`, if given;
// sets `p.problem` for an unknown name.
template <typename E>
std::optional<E> enum_param(Params& p, const char* name, std::initializer_list<E> all) {
  const auto v = p.get(name);
  if (!v) return std::nullopt;
  std::string names;
  for (E e : all) {
    if (*v == to_string(e)) return e;
    names += std::string(names.empty() ? "" : ", ") + to_string(e);
  }
  if (p.problem.empty()) p.problem = std::string(name) + " must be one of " + names;
  return std::nullopt;
}

// Cursors are opaque to clients: base64url of the last row's key.
std::string encode_cursor(const std::string& store, const std::string& item) {
  std::string b = to_base64(store + '\x1f' + item);
  for (char& c : b) c = c == '+' ? '-' : c == '/' ? '_' : c;
  while (!b.empty() && b.back() == '=') b.pop_back();
  return b;
}

std::optional<std::pair<std::string, std::string>> decode_cursor(std::string c) {
  for (char& ch : c) ch = ch == '-' ? '+' : ch == '_' ? '/' : ch;
  while (c.size() % 4 != 0) c += '=';
  const std::string raw = from_base64(c);
  const auto sep = raw.find('\x1f');
  if (sep == std::string::npos) return std::nullopt;
  return std::make_pair(raw.substr(0, sep), raw.substr(sep + 1));
}

}  // namespace

http::Response json_error(unsigned status, const std::string& message) {
  return json_response(status, json::object{{"error", message}});
}

HttpRoutes::HttpRoutes(Storage& storage, Metrics& metrics, HealthSource health)
    : storage_(storage), metrics_(metrics), health_(std::move(health)) {}

std::optional<http::Response> HttpRoutes::api(std::string_view name, const std::string& query) {
  if (name == "inventory") return inventory(query);
  if (name == "reports") return reports(query);
  if (name == "alerts") return alerts(query);
  return std::nullopt;
}

http::Response HttpRoutes::healthz() {
  const auto h = health_();
  const auto lag = std::chrono::steady_clock::now() - h.loop_tick;
  const auto lag_ms = std::chrono::duration_cast<std::chrono::milliseconds>(lag).count();
  if (h.stopping) return json_response(503, json::object{{"status", "stopping"}});
  if (lag > kLoopStall) {
    return json_response(503, json::object{{"status", "stalled"}, {"loop_lag_ms", lag_ms}});
  }
  return json_response(200, json::object{{"status", "ok"}, {"loop_lag_ms", lag_ms}});
}

http::Response HttpRoutes::readyz() {
  const auto h = health_();
  json::object components;
  const auto counts = storage_.open_outbox_counts();
  // Ready when this thread's connection answers and none of the daemon's
  // others is known to be lost (a lost one is connecting again).
  std::string db_error = counts.ok() ? std::string() : counts.error().message();
  for (const auto& problem : h.database_problems) {
    if (db_error.empty()) db_error = problem;
  }
  const bool db_ok = db_error.empty();
  components["database"] =
      db_ok ? json::object{{"state", "ok"}}
            : json::object{{"state", "error"}, {"error", db_error}};
  components["inbox"] = json::object{{"state", h.inbox_watched ? "ok" : "not watched"},
                                     {"mode", h.inbox_mode},
                                     {"path", h.inbox_path}};
  json::object mailer{{"via", h.mail_via}};
  if (h.smtp_last_result.empty()) {
    mailer["state"] = "idle";
    mailer["last_result"] = nullptr;
    mailer["last_attempt_at"] = nullptr;
  } else {
    mailer["state"] = h.smtp_last_ok ? "ok" : "failing";
    mailer["last_result"] = h.smtp_last_result;
    mailer["last_attempt_at"] = time_or_null(h.smtp_last_at);
  }
  components["mailer"] = std::move(mailer);
  // Reports by email: shown, but a mail server that fails does not make
  // the daemon unready (reports still come by folder, upload and S3).
  if (!h.mailbox_via.empty()) {
    json::object mailbox{{"state", h.mailbox_ok ? "ok" : "failing"},
                         {"via", h.mailbox_via},
                         {"waits_with", h.mailbox_idle ? "idle" : "poll"},
                         {"last_look_at", time_or_null(h.mailbox_last_look)}};
    if (!h.mailbox_ok) mailbox["error"] = h.mailbox_error;
    components["mailbox"] = std::move(mailbox);
  }
  const bool ready = db_ok && h.inbox_watched && !h.stopping;
  json::object body{{"ready", ready}, {"components", std::move(components)}};
  if (!h.node.empty()) body["node"] = h.node;
  if (counts.ok()) {
    body["outbox"] = json::object{{"queued", counts->queued}, {"dead", counts->dead}};
    metrics_.outbox_depth(counts->queued, counts->dead);
  }
  if (h.stopping) body["stopping"] = true;
  return json_response(ready ? 200 : 503, body);
}

http::Response HttpRoutes::metrics() {
  const auto h = health_();
  metrics_.inbox_totals(h.inbox_scans, h.inbox_overflows);
  if (auto counts = storage_.open_outbox_counts()) metrics_.outbox_depth(counts->queued, counts->dead);
  return http::make_response(200, metrics_.serialize(), "text/plain; version=0.0.4; charset=utf-8");
}

http::Response HttpRoutes::inventory(const std::string& query) {
  Params p(query, {"store", "out_of_stock", "limit", "cursor"});
  InventoryQuery q;
  q.limit = static_cast<int>(p.number("limit", kDefaultLimit, 1, kMaxLimit));
  q.store = p.get("store");
  if (auto oos = p.get("out_of_stock")) {
    if (*oos == "true" || *oos == "1") q.out_of_stock_only = true;
    else if (*oos != "false" && *oos != "0" && p.problem.empty()) {
      p.problem = "out_of_stock must be true or false";
    }
  }
  if (auto c = p.get("cursor")) {
    q.after = decode_cursor(*c);
    if (!q.after && p.problem.empty()) p.problem = "cursor is not one this server gave out";
  }
  if (!p.problem.empty()) return json_error(400, p.problem);
  auto rows = storage_.list_inventory(q);
  if (!rows) return json_error(500, rows.error().message());
  json::array items;
  for (const auto& r : *rows) {
    json::object o{{"store", r.store},
                   {"item", r.item},
                   {"count", r.count},
                   {"updated_at", time_or_null(r.updated_at)},
                   {"report_id", r.report_id}};
    // The forecast (pipeline/usage.hpp); null when it is not known.
    o["daily_use"] = nullptr;
    o["days_of_cover"] = nullptr;
    o["runs_out_on"] = nullptr;
    if (auto u = storage_.usage_of(r.store, r.item); u && *u) {
      const Forecast f = forecast((*u)->figures, r.count, (*u)->as_of_day);
      if (f.daily_use) o["daily_use"] = std::round(*f.daily_use * 100.0) / 100.0;
      if (f.days_of_cover) o["days_of_cover"] = std::round(*f.days_of_cover * 10.0) / 10.0;
      if (f.runs_out_on) o["runs_out_on"] = iso_day(*f.runs_out_on);
    }
    items.push_back(std::move(o));
  }
  json::value next = nullptr;
  if (static_cast<int>(rows->size()) == q.limit) next = encode_cursor(rows->back().store, rows->back().item);
  return json_response(200, json::object{{"items", std::move(items)}, {"next_cursor", next}});
}

http::Response HttpRoutes::reports(const std::string& query) {
  Params p(query, {"status", "limit", "before"});
  const int limit = static_cast<int>(p.number("limit", kDefaultLimit, 1, kMaxLimit));
  const std::int64_t before = p.number("before", 0, 0, INT64_MAX);
  const auto status = enum_param(
      p, "status", {ReportStatus::kLoaded, ReportStatus::kRejected, ReportStatus::kDuplicate});
  if (!p.problem.empty()) return json_error(400, p.problem);
  auto rows = storage_.reports_page(before, status, limit);
  if (!rows) return json_error(500, rows.error().message());
  std::vector<std::int64_t> ids;
  for (const auto& r : *rows) ids.push_back(r.id);
  auto mails = storage_.report_mails(ids);
  if (!mails) return json_error(500, mails.error().message());
  json::array items;
  for (const auto& r : *rows) {
    json::object o{{"id", r.id},
                   {"path", r.path},
                   {"size", r.size},
                   {"sha256", r.sha256},
                   {"status", to_string(r.status)},
                   {"rows", r.rows},
                   {"changes", r.changes},
                   {"received_at", time_or_null(r.received_at)},
                   {"finished_at", time_or_null(r.finished_at)},
                   {"archived_path", r.archived_path.empty() ? json::value(nullptr) : json::value(r.archived_path)}};
    if (r.status == ReportStatus::kRejected) {
      json::array errors;
      for (auto& line : rendered_problem_lines(r.problems, r.error, english())) {
        errors.push_back(json::string(line));
      }
      o["errors"] = std::move(errors);
    }
    if (r.duplicate_of) o["duplicate_of"] = *r.duplicate_of;
    // How it arrived; null when not recorded.
    o["arrived_by"] = r.arrived_by.empty() ? json::value(nullptr) : json::value(r.arrived_by);
    // Where it came from when it came by email; null otherwise.
    o["mail"] = nullptr;
    for (const auto& m : *mails) {
      if (m.report_id != r.id) continue;
      o["arrived_by"] = "email";
      o["mail"] = json::object{{"from", m.sender},
                               {"message_id", m.message_id.empty() ? json::value(nullptr)
                                                                   : json::value(m.message_id)},
                               {"attachment", m.attachment}};
      break;
    }
    items.push_back(std::move(o));
  }
  json::value next = nullptr;
  if (static_cast<int>(rows->size()) == limit) next = rows->back().id;
  return json_response(200, json::object{{"items", std::move(items)}, {"next_before", next}});
}

http::Response HttpRoutes::alerts(const std::string& query) {
  Params p(query, {"state", "limit", "before"});
  const int limit = static_cast<int>(p.number("limit", kDefaultLimit, 1, kMaxLimit));
  const std::int64_t before = p.number("before", 0, 0, INT64_MAX);
  const auto state =
      enum_param(p, "state", {OutboxState::kQueued, OutboxState::kSent, OutboxState::kDead});
  if (!p.problem.empty()) return json_error(400, p.problem);
  auto rows = storage_.outbox_page(before, state, limit);
  if (!rows) return json_error(500, rows.error().message());
  json::array items;
  for (const auto& m : *rows) {
    items.push_back(json::object{
        {"id", m.id},
        {"message_id", m.message_id},
        {"report_id", m.report_id},
        {"event", m.event},
        {"channel", m.channel},
        {"recipient", shown_recipient(m)},
        {"language", m.language},
        {"subject", outbox_subject(m)},
        {"state", to_string(m.state)},
        {"attempts", m.attempts},
        {"created_at", time_or_null(m.created_at)},
        {"next_attempt_at", m.state == OutboxState::kQueued ? time_or_null(m.next_attempt_at) : json::value(nullptr)},
        {"sent_at", time_or_null(m.sent_at)},
        {"last_error", m.last_error.empty() ? json::value(nullptr) : json::value(m.last_error)}});
  }
  json::value next = nullptr;
  if (static_cast<int>(rows->size()) == limit) next = rows->back().id;
  return json_response(200, json::object{{"items", std::move(items)}, {"next_before", next}});
}

}  // namespace stockwatch
