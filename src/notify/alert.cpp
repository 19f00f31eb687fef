#include "notify/alert.hpp"

#include <boost/json.hpp>

#include "notify/message.hpp"
#include "notify/mail_reply.hpp"
#include "notify/template_mail.hpp"
#include "report/report_problem.hpp"

namespace stockwatch {

namespace json = boost::json;

namespace {

constexpr std::int64_t kPayloadVersion = 1;

std::string state_key(EventKind e) {
  return "alert." + std::string(event_name(e)) + ".state";
}

std::string utc_time(const Catalog& catalog, TimePoint t) {
  return format_utc(t, std::string(catalog.text("alert.time")).c_str());
}

std::string sentence(const Catalog& catalog, EventKind e, const AlertItem& i) {
  const std::string store = sanitize_text(i.store);
  const std::string item = sanitize_text(i.item);
  const std::string count = std::to_string(i.new_count);
  return catalog.format("alert." + std::string(event_name(e)) + ".sentence",
                        {{"store", store}, {"item", item}, {"count", count}});
}

// "Medan: Robusta Dairi is out of stock", "Medan: 3 items out of stock",
// "3 stores, 12 items out of stock" (and the same with "back in stock").
std::string summary(const Alert& a, const Catalog& catalog) {
  const std::string_view state = catalog.text(state_key(a.event));
  const std::string total = std::to_string(a.total);
  if (a.many_stores || a.stores > 1) {
    const std::string stores = std::to_string(a.many_stores ? Alert::kMaxStores : a.stores);
    return catalog.format(a.many_stores ? "alert.summary.over_stores" : "alert.summary.stores",
                          {{"stores", stores}, {"total", total}, {"state", state}});
  }
  const std::string store = a.items.empty() ? std::string() : sanitize_text(a.items.front().store);
  if (a.total == 1 && !a.items.empty()) {
    const std::string item = sanitize_text(a.items.front().item);
    return catalog.format("alert.summary.item", {{"store", store}, {"item", item}, {"state", state}});
  }
  return catalog.format("alert.summary.store", {{"store", store}, {"total", total}, {"state", state}});
}

RenderedText render_rejection(const Alert& a, const Catalog& catalog) {
  const std::string name = sanitize_text(a.report_path);
  RenderedText out;
  out.subject = a.subject_prefix + " " + catalog.format("rejected.subject", {{"path", name}});
  const std::string problems = rendered_problems(a.problems, a.problems_text, catalog);
  const std::string id = std::to_string(a.report_id);
  const std::string time = utc_time(catalog, a.report_time);
  out.body = catalog.format("rejected.body",
                            {{"path", name}, {"problems", problems}, {"id", id}, {"time", time}});
  return out;
}

RenderedText render_changes(const Alert& a, const Catalog& catalog) {
  RenderedText out;
  if (a.per_item) {
    out.subject = a.subject_prefix;
    for (const auto& i : a.items) out.body += sentence(catalog, a.event, i) + "\n";
    return out;
  }
  for (const auto& i : a.items) out.body += sentence(catalog, a.event, i) + "\n";
  std::string sum = summary(a, catalog);
  const auto listed = static_cast<std::int64_t>(a.items.size());
  if (const std::int64_t more = a.total - listed; more > 0) {
    const std::string_view state = catalog.text(state_key(a.event));
    const std::string n_more = std::to_string(more), n_listed = std::to_string(listed),
                      n_total = std::to_string(a.total);
    out.body += catalog.format("alert.more_items", {{"more", n_more},
                                                    {"state", state},
                                                    {"listed", n_listed},
                                                    {"total", n_total}}) +
                "\n";
    sum += catalog.format("alert.summary.first_listed", {{"listed", n_listed}});
  }
  const std::string path = sanitize_text(a.report_path);
  const std::string id = std::to_string(a.report_id);
  const std::string time = utc_time(catalog, a.report_time);
  out.body += "\n" + catalog.format("alert.footer", {{"path", path}, {"id", id}, {"time", time}}) +
              "\n";
  out.subject = a.subject_prefix + (a.subject_prefix.empty() ? "" : " ") + sum;
  return out;
}

Error bad_payload(std::string_view why) {
  return Error(ErrorCode::kCorrupt, "outbox payload: " + std::string(why));
}

}  // namespace

std::string encode_alert(const Alert& a) {
  json::object o;
  o["v"] = kPayloadVersion;
  o["event"] = event_name(a.event);
  o["subject_prefix"] = a.subject_prefix;
  if (a.per_item) o["per_item"] = true;
  o["report"] = json::object{{"id", a.report_id},
                             {"path", a.report_path},
                             {"time", static_cast<std::int64_t>(to_unix_ms(a.report_time))}};
  if (a.event == EventKind::kReportRejected) {
    if (!a.problems.empty()) o["problems"] = json::parse(a.problems);
    else o["problems_text"] = a.problems_text;
    return json::serialize(o);
  }
  json::array items;
  items.reserve(a.items.size());
  for (const auto& i : a.items) {
    json::object it{{"store", i.store}, {"item", i.item}, {"new", i.new_count}};
    if (i.old_count) it["old"] = *i.old_count;
    items.push_back(std::move(it));
  }
  o["items"] = std::move(items);
  o["total"] = a.total;
  o["stores"] = a.stores;
  if (a.many_stores) o["many_stores"] = true;
  return json::serialize(o);
}

Result<Alert> decode_alert(std::string_view payload) {
  boost::system::error_code ec;
  const json::value v = json::parse(payload, ec);
  if (ec || !v.is_object()) return bad_payload("not a JSON object");
  const auto& o = v.as_object();
  const auto str = [&](const json::object& from, const char* key) -> std::string {
    const auto* x = from.if_contains(key);
    return x && x->is_string() ? std::string(x->as_string()) : std::string();
  };
  const auto num = [&](const json::object& from, const char* key) -> std::optional<std::int64_t> {
    const auto* x = from.if_contains(key);
    if (x && x->is_int64()) return x->as_int64();
    if (x && x->is_uint64()) return static_cast<std::int64_t>(x->as_uint64());
    return std::nullopt;
  };
  if (num(o, "v").value_or(0) != kPayloadVersion) return bad_payload("unknown version");
  const auto event = event_from_name(str(o, "event"));
  if (!event) return bad_payload("unknown event \"" + str(o, "event") + "\"");
  Alert a;
  a.event = *event;
  a.subject_prefix = str(o, "subject_prefix");
  if (const auto* p = o.if_contains("per_item"); p && p->is_bool()) a.per_item = p->as_bool();
  if (const auto* r = o.if_contains("report"); r && r->is_object()) {
    a.report_id = num(r->as_object(), "id").value_or(0);
    a.report_path = str(r->as_object(), "path");
    a.report_time = from_unix_ms(num(r->as_object(), "time").value_or(0));
  }
  if (const auto* p = o.if_contains("problems")) a.problems = json::serialize(*p);
  a.problems_text = str(o, "problems_text");
  if (const auto* items = o.if_contains("items"); items && items->is_array()) {
    for (const auto& x : items->as_array()) {
      if (!x.is_object()) return bad_payload("an item is not an object");
      const auto& it = x.as_object();
      a.items.push_back({str(it, "store"), str(it, "item"), num(it, "old"),
                         num(it, "new").value_or(0)});
    }
  }
  a.total = num(o, "total").value_or(static_cast<std::int64_t>(a.items.size()));
  a.stores = num(o, "stores").value_or(0);
  if (const auto* m = o.if_contains("many_stores"); m && m->is_bool()) a.many_stores = m->as_bool();
  return a;
}

RenderedText render_alert(const Alert& alert, const Catalog& catalog) {
  if (alert.event == EventKind::kReportRejected) return render_rejection(alert, catalog);
  return render_changes(alert, catalog);
}

std::string outbox_subject(const OutboxMessage& m) {
  if (m.payload.empty()) return m.subject;
  if (m.event == kTemplateEvent) return template_subject(m);
  if (m.event == kMailReplyEvent) return mail_reply_subject(m);
  auto alert = decode_alert(m.payload);
  if (!alert) return {};
  return render_alert(*alert, catalog_for(m.language)).subject;
}

Result<std::string> render_email(const OutboxMessage& m) {
  if (m.payload.empty()) return m.data;  // queued by schema 3 and older: as it was
  if (m.channel != "email") {
    return Error(ErrorCode::kInvalidInput, "message " + std::to_string(m.id) + " is for channel " +
                                               m.channel + ", not email");
  }
  if (m.event == kTemplateEvent) return render_template_email(m);
  if (m.event == kMailReplyEvent) return render_mail_reply_email(m);
  auto alert = decode_alert(m.payload);
  if (!alert) return alert.error();
  const RenderedText text = render_alert(*alert, catalog_for(m.language));
  return render_message({m.sender, m.recipient, text.subject, text.body, m.message_id,
                         m.created_at, {}});
}

}  // namespace stockwatch
