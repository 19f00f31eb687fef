#include "notify/report_missing.hpp"

#include <boost/json.hpp>

#include <array>
#include <cstdio>

#include "notify/message.hpp"

namespace stockwatch {

namespace json = boost::json;

namespace {

constexpr std::int64_t kVersion = 1;

Error bad_payload(const std::string& why) {
  return Error(ErrorCode::kCorrupt, "the missing report's payload cannot be read: " + why);
}

std::chrono::sys_seconds local_of(TimePoint t, std::chrono::seconds offset) {
  return std::chrono::floor<std::chrono::seconds>(t) + offset;
}

}  // namespace

std::string local_date_text(std::chrono::sys_seconds local, const Catalog& catalog, bool with_time) {
  using namespace std::chrono;
  const sys_days day = floor<days>(local);
  const year_month_day ymd(day);
  const auto tod = local - day;
  const std::string month_key = "date.month." + std::to_string(static_cast<unsigned>(ymd.month()));
  std::string out = catalog.format(
      "date.day_month_year", {{"day", std::to_string(static_cast<unsigned>(ymd.day()))},
                              {"month", catalog.text(month_key)},
                              {"year", std::to_string(static_cast<int>(ymd.year()))}});
  if (with_time) {
    char buf[16];
    const auto mins = duration_cast<minutes>(tod).count();
    std::snprintf(buf, sizeof buf, "%02d:%02d", static_cast<int>(mins / 60), static_cast<int>(mins % 60));
    out = catalog.format("date.day_and_time", {{"date", out}, {"time", buf}});
  }
  return out;
}

std::string encode_report_missing(const ReportMissingMail& m) {
  json::object o;
  o["v"] = kVersion;
  o["event"] = "report_missing";
  o["store"] = m.store;
  o["due"] = to_unix_ms(m.due);
  o["due_offset_s"] = m.due_offset.count();
  if (m.last_report) {
    o["last_report"] = to_unix_ms(*m.last_report);
    o["last_offset_s"] = m.last_offset.count();
  }
  o["zone"] = m.zone;
  if (m.within_days > 0) o["within_days"] = m.within_days;
  if (m.day_of_month > 0) o["day_of_month"] = m.day_of_month;
  if (m.escalated) o["escalated"] = true;
  o["days_late"] = m.days_late;
  return json::serialize(o);
}

Result<ReportMissingMail> decode_report_missing(std::string_view payload) {
  boost::system::error_code ec;
  const json::value v = json::parse(payload, ec);
  if (ec || !v.is_object()) return bad_payload("not a JSON object");
  const auto& o = v.as_object();
  const auto num = [&o](const char* key) -> std::optional<std::int64_t> {
    const auto* x = o.if_contains(key);
    if (x && x->is_int64()) return x->as_int64();
    if (x && x->is_uint64()) return static_cast<std::int64_t>(x->as_uint64());
    return std::nullopt;
  };
  const auto str = [&o](const char* key) -> std::string {
    const auto* x = o.if_contains(key);
    return x && x->is_string() ? std::string(x->as_string()) : std::string();
  };
  if (num("v").value_or(0) != kVersion) return bad_payload("an unknown version");
  ReportMissingMail m;
  m.store = str("store");
  if (m.store.empty() || !num("due")) return bad_payload("no store or no deadline");
  m.due = from_unix_ms(*num("due"));
  m.due_offset = std::chrono::seconds(num("due_offset_s").value_or(0));
  if (auto last = num("last_report")) {
    m.last_report = from_unix_ms(*last);
    m.last_offset = std::chrono::seconds(num("last_offset_s").value_or(0));
  }
  m.zone = str("zone");
  m.within_days = static_cast<int>(num("within_days").value_or(0));
  m.day_of_month = static_cast<int>(num("day_of_month").value_or(0));
  if (const auto* e = o.if_contains("escalated"); e && e->is_bool()) m.escalated = e->as_bool();
  m.days_late = static_cast<int>(num("days_late").value_or(0));
  return m;
}

RenderedText render_report_missing(const ReportMissingMail& m, const Catalog& catalog) {
  const std::string store = sanitize_text(m.store);
  // day_of_month: due by the end of that day, shown as the day itself;
  // within_days: the moment, with its time.
  const bool by_day = m.day_of_month > 0;
  const auto due_local = local_of(m.due, m.due_offset) - std::chrono::seconds(by_day ? 1 : 0);
  const std::string due = local_date_text(due_local, catalog, !by_day);
  const std::string zone = sanitize_text(m.zone);
  const std::string rule =
      by_day ? catalog.format("missing.rule.day_of_month", {{"day", std::to_string(m.day_of_month)}})
             : catalog.format("missing.rule.within_days", {{"days", std::to_string(m.within_days)}});
  const std::string last =
      m.last_report
          ? catalog.format("missing.last", {{"store", store},
                                           {"date", local_date_text(local_of(*m.last_report, m.last_offset),
                                                                    catalog, true)}})
          : catalog.format("missing.never", {{"store", store}});
  const std::string days = std::to_string(m.days_late);
  RenderedText out;
  const char* kind = m.escalated ? "missing.escalated" : "missing";
  out.subject = catalog.format(std::string(kind) + ".subject", {{"store", store}, {"due", due}});
  out.body = catalog.format(std::string(kind) + ".body", {{"store", store},
                                                         {"due", due},
                                                         {"zone", zone},
                                                         {"rule", rule},
                                                         {"last", last},
                                                         {"days", days}});
  return out;
}

}  // namespace stockwatch
