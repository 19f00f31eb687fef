#include "notify/alert.hpp"

#include <boost/json.hpp>

#include <cstdio>

#include "notify/message.hpp"
#include "notify/digest_mail.hpp"
#include "notify/report_missing.hpp"
#include "pipeline/usage.hpp"
#include "report/report_date.hpp"
#include "notify/mail_reply.hpp"
#include "notify/template_mail.hpp"
#include "pipeline/levels_file.hpp"
#include "report/report_problem.hpp"
#include "text/number_format.hpp"

#include <algorithm>

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

// A daily use for people: "12", "2.5", "0.3" (Indonesian "2,5").
std::string rate_text(double rate, const Catalog& catalog) { return format_amount(rate, catalog); }

std::string sentence(const Catalog& catalog, EventKind e, const AlertItem& i) {
  const std::string store = sanitize_text(i.store);
  const std::string item = sanitize_text(i.item);
  const std::string count = format_number(i.new_count, catalog);
  if (e == EventKind::kRunningOut) {
    const std::string date = i.runs_out_on ? iso_day(*i.runs_out_on) : std::string("?");
    const std::string rate = rate_text(i.daily_use.value_or(0.0), catalog);
    return catalog.format("alert.running_out.sentence", {{"store", store},
                                                         {"item", item},
                                                         {"count", count},
                                                         {"date", date},
                                                         {"rate", rate}});
  }
  const std::string minimum = format_number(i.minimum.value_or(0), catalog);
  std::string out = catalog.format("alert." + std::string(event_name(e)) + ".sentence",
                                   {{"store", store}, {"item", item}, {"count", count},
                                    {"minimum", minimum}});
  if (!i.transfer_from.empty() && i.transfer_quantity > 0) {
    const std::string from = sanitize_text(i.transfer_from);
    const std::string qty = format_number(i.transfer_quantity, catalog);
    const std::string has = format_number(i.transfer_from_count, catalog);
    out += "\n" + catalog.format("alert.transfer.sentence",
                                 {{"store", store}, {"item", item}, {"from", from},
                                  {"quantity", qty}, {"has", has}});
  }
  return out;
}

// "Medan: Robusta Dairi is out of stock", "Medan: 3 items out of stock",
// "3 stores, 12 items out of stock" (and the same with "back in stock").
// A language may word a summary per event ("alert.out_of_stock.summary.item":
// "Stok habis: {store}, {item}"); else the general form with {state}.
std::string summary_key(const Catalog& catalog, EventKind e, std::string_view form) {
  std::string specific = "alert." + std::string(event_name(e)) + ".summary." + std::string(form);
  if (catalog.has(specific)) return specific;
  return "alert.summary." + std::string(form);
}

std::string summary(const Alert& a, const Catalog& catalog) {
  const std::string_view state = catalog.text(state_key(a.event));
  const std::string total = format_number(a.total, catalog);
  if (a.many_stores || a.stores > 1) {
    const std::string stores = format_number(a.many_stores ? Alert::kMaxStores : a.stores, catalog);
    return catalog.format(summary_key(catalog, a.event, a.many_stores ? "over_stores" : "stores"),
                          {{"stores", stores}, {"total", total}, {"state", state}});
  }
  const std::string store = a.items.empty() ? std::string() : sanitize_text(a.items.front().store);
  if (a.total == 1 && !a.items.empty()) {
    const std::string item = sanitize_text(a.items.front().item);
    return catalog.format(summary_key(catalog, a.event, "item"),
                          {{"store", store}, {"item", item}, {"state", state}});
  }
  return catalog.format(summary_key(catalog, a.event, "store"),
                        {{"store", store}, {"total", total}, {"state", state}});
}

std::string joined(std::string_view prefix, const std::string& text) {
  return std::string(prefix) + (prefix.empty() ? "" : " ") + text;
}

RenderedText render_rejection(const Alert& a, const Catalog& catalog) {
  const std::string name = sanitize_text(a.report_path);
  RenderedText out;
  const bool levels = is_levels_name(a.report_path);
  out.subject = joined(a.subject_prefix,
                       catalog.format(levels ? "rejected.levels_subject" : "rejected.subject",
                                      {{"path", name}}));
  const std::string problems = rendered_problems(a.problems, a.problems_text, catalog);
  const std::string id = std::to_string(a.report_id);
  const std::string time = utc_time(catalog, a.report_time);
  out.body = catalog.format(levels ? "rejected.levels_body" : "rejected.body",
                            {{"path", name}, {"problems", problems}, {"id", id}, {"time", time}});
  return out;
}

RenderedText render_changes(const Alert& a, const Catalog& catalog) {
  RenderedText out;
  if (a.per_item) {
    // The prefix alone, as 0.1 wrote it; a language without one says what happened.
    out.subject = a.subject_prefix.empty() ? summary(a, catalog) : a.subject_prefix;
    for (const auto& i : a.items) out.body += sentence(catalog, a.event, i) + "\n";
    return out;
  }
  for (const auto& i : a.items) out.body += sentence(catalog, a.event, i) + "\n";
  std::string sum = summary(a, catalog);
  const auto listed = static_cast<std::int64_t>(a.items.size());
  if (const std::int64_t more = a.total - listed; more > 0) {
    const std::string_view state = catalog.text(state_key(a.event));
    const std::string n_more = format_number(more, catalog),
                      n_listed = format_number(listed, catalog),
                      n_total = format_number(a.total, catalog);
    out.body += catalog.format("alert.more_items", {{"more", n_more},
                                                    {"state", state},
                                                    {"listed", n_listed},
                                                    {"total", n_total}}) +
                "\n";
    sum += catalog.format("alert.summary.first_listed", {{"listed", n_listed}});
  }
  if (a.event == EventKind::kStillOut) {
    const std::string days = std::to_string(a.every_days);
    out.body += "\n" + catalog.format("alert.still_out.footer", {{"days", days}}) + "\n";
    out.subject = a.subject_prefix + (a.subject_prefix.empty() ? "" : " ") + sum;
    return out;
  }
  const std::string path = sanitize_text(a.report_path);
  const std::string id = std::to_string(a.report_id);
  const std::string time = utc_time(catalog, a.report_time);
  const char* footer = is_levels_name(a.report_path) ? "alert.levels_footer" : "alert.footer";
  out.body += "\n" + catalog.format(footer, {{"path", path}, {"id", id}, {"time", time}}) +
              "\n";
  out.subject = joined(a.subject_prefix, sum);
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
    if (i.minimum) it["minimum"] = *i.minimum;
    if (i.daily_use) it["daily_use"] = *i.daily_use;
    if (i.runs_out_on) it["runs_out_on"] = iso_day(*i.runs_out_on);
    if (!i.transfer_from.empty()) {
      it["transfer"] = json::object{{"from", i.transfer_from},
                                    {"quantity", i.transfer_quantity},
                                    {"from_count", i.transfer_from_count}};
    }
    items.push_back(std::move(it));
  }
  o["items"] = std::move(items);
  o["total"] = a.total;
  o["stores"] = a.stores;
  if (a.many_stores) o["many_stores"] = true;
  if (a.every_days > 0) o["every_days"] = a.every_days;
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
      AlertItem item;
      item.store = str(it, "store");
      item.item = str(it, "item");
      item.old_count = num(it, "old");
      item.new_count = num(it, "new").value_or(0);
      item.minimum = num(it, "minimum");
      if (const auto* d = it.if_contains("daily_use"); d && d->is_number()) {
        item.daily_use = d->to_number<double>();
      }
      if (const auto* d = it.if_contains("runs_out_on"); d && d->is_string()) {
        item.runs_out_on = parse_report_day(std::string_view(d->as_string()));
      }
      if (const auto* t = it.if_contains("transfer"); t && t->is_object()) {
        item.transfer_from = str(t->as_object(), "from");
        item.transfer_quantity = num(t->as_object(), "quantity").value_or(0);
        item.transfer_from_count = num(t->as_object(), "from_count").value_or(0);
      }
      a.items.push_back(std::move(item));
    }
  }
  a.total = num(o, "total").value_or(static_cast<std::int64_t>(a.items.size()));
  a.stores = num(o, "stores").value_or(0);
  if (const auto* m = o.if_contains("many_stores"); m && m->is_bool()) a.many_stores = m->as_bool();
  a.every_days = num(o, "every_days").value_or(0);
  return a;
}

namespace {

// Text for HTML: neutralised like the plain part, then escaped.
std::string h(std::string_view text) { return html_escape(sanitize_text(text)); }

std::string html_lines(std::string_view text) {
  std::string out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    if (start > 0) out += "<br>\n";
    out += h(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

// The table's look is set once, on the table (HTML attributes every mail
// program knows), not on each cell: a message lists up to 1000 items.
constexpr std::string_view kTable =
    "<table border=\"1\" cellpadding=\"6\" cellspacing=\"0\" "
    "style=\"border-collapse:collapse;border:1px solid #ccc\">";
constexpr std::string_view kNumber = "<td align=\"right\">";

}  // namespace

std::string render_alert_html(const Alert& a, const Catalog& catalog, const RenderedText& text) {
  std::string out;
  out += "<!DOCTYPE html>\n<html lang=\"";
  out += html_escape(catalog.language());
  out += "\">\n<head>\n<meta charset=\"utf-8\">\n<title>";
  out += h(text.subject);
  out += "</title>\n</head>\n<body style=\"font-family:sans-serif;color:#222\">\n";
  if (a.event == EventKind::kReportRejected) {
    out += "<p>" + html_lines(text.body) + "</p>\n</body>\n</html>\n";
    return out;
  }
  out += "<p><strong>" + h(text.subject) + "</strong></p>\n";
  // Stores in the order they first appear; each store's items in report order.
  std::vector<std::string> stores;
  for (const auto& i : a.items) {
    if (std::find(stores.begin(), stores.end(), i.store) == stores.end()) stores.push_back(i.store);
  }
  const std::string none = html_escape(catalog.text("alert.html.none"));
  const std::string report_cell =
      h(catalog.format("alert.html.report_cell", {{"path", sanitize_text(a.report_path)},
                                                  {"id", std::to_string(a.report_id)},
                                                  {"time", utc_time(catalog, a.report_time)}}));
  for (const auto& store : stores) {
    out += "<h3 style=\"margin:16px 0 4px\">" + h(store) + "</h3>\n";
    out += std::string(kTable) + "\n<thead><tr bgcolor=\"#f2f2f2\">";
    for (const char* key : {"alert.html.item", "alert.html.count", "alert.html.minimum",
                            "alert.html.previous", "alert.html.report"}) {
      const bool number = std::string_view(key) != "alert.html.item" &&
                          std::string_view(key) != "alert.html.report";
      out += std::string(number ? "<th align=\"right\">" : "<th align=\"left\">") +
             html_escape(catalog.text(key)) + "</th>";
    }
    out += "</tr></thead>\n<tbody>\n";
    for (const auto& i : a.items) {
      if (i.store != store) continue;
      out += "<tr><td>" + h(i.item) + "</td>";
      out += std::string(kNumber) + format_number(i.new_count, catalog) + "</td>";
      out += std::string(kNumber) + (i.minimum ? format_number(*i.minimum, catalog) : none) +
             "</td>";
      out += std::string(kNumber) +
             (i.old_count ? format_number(*i.old_count, catalog)
                          : html_escape(catalog.text("alert.html.new_item"))) +
             "</td>";
      out += "<td>" + report_cell + "</td></tr>\n";
    }
    out += "</tbody>\n</table>\n";
  }
  // The lines after the sentences: "... and N more", the footer.
  const std::size_t listed = a.items.size();
  std::size_t start = 0;
  for (std::size_t n = 0; n < listed && start < text.body.size(); ++n) {
    start = text.body.find('\n', start);
    start = start == std::string::npos ? text.body.size() : start + 1;
  }
  std::string rest = text.body.substr(start);
  while (!rest.empty() && rest.front() == '\n') rest.erase(rest.begin());
  while (!rest.empty() && rest.back() == '\n') rest.pop_back();
  if (!rest.empty()) {
    out += "<p style=\"color:#555;font-size:90%\">" + html_lines(rest) + "</p>\n";
  }
  out += "</body>\n</html>\n";
  return out;
}

RenderedText render_alert(const Alert& alert, const Catalog& catalog) {
  if (alert.event == EventKind::kReportRejected) return render_rejection(alert, catalog);
  return render_changes(alert, catalog);
}

namespace {

// What one outbox row says, rendered in its language: the text, and for
// email the HTML part, the attachments and the reply headers. One decoding
// per event, so the subject listed, the email sent and the chat text never
// differ.
struct RenderedRow {
  RenderedText text;
  std::string html;
  std::vector<Attachment> attachments;
  std::optional<ReplyHeaders> reply;
};

Result<RenderedRow> render_row(const OutboxMessage& m) {
  const Catalog& catalog = catalog_for(m.language);
  RenderedRow out;
  if (m.event == kTemplateEvent) {
    auto mail = decode_template_mail(m.payload);
    if (!mail) return mail.error();
    out.text = render_template_mail(*mail, catalog);
    out.attachments.push_back(template_attachment(*mail));
  } else if (m.event == event_name(EventKind::kReportMissing)) {
    auto mail = decode_report_missing(m.payload);
    if (!mail) return mail.error();
    out.text = render_report_missing(*mail, catalog);
  } else if (m.event == event_name(EventKind::kDigest)) {
    auto digest = decode_digest(m.payload);
    if (!digest) return digest.error();
    out.text = render_digest(*digest, catalog);
  } else if (m.event == kMailReplyEvent) {
    auto reply = decode_mail_reply(m.payload);
    if (!reply) return reply.error();
    out.text = render_mail_reply(*reply, catalog);
    out.reply = ReplyHeaders{reply->in_reply_to, reply->references, true};
  } else {
    auto alert = decode_alert(m.payload);
    if (!alert) return alert.error();
    out.text = render_alert(*alert, catalog);
    out.html = render_alert_html(*alert, catalog, out.text);
  }
  return out;
}

}  // namespace

Result<RenderedText> render_outbox_text(const OutboxMessage& m) {
  if (m.payload.empty()) {
    return Error(ErrorCode::kInvalidInput,
                 "message " + std::to_string(m.id) + " has no event data (queued by an old version)");
  }
  auto row = render_row(m);
  if (!row) return row.error();
  return std::move(row->text);
}

std::string outbox_subject(const OutboxMessage& m) {
  if (m.payload.empty()) return m.subject;
  auto row = render_row(m);
  return row ? row->text.subject : std::string();
}

Result<std::string> render_email(const OutboxMessage& m) {
  if (m.payload.empty()) return m.data;  // queued by schema 3 and older: as it was
  if (m.channel != "email") {
    return Error(ErrorCode::kInvalidInput, "message " + std::to_string(m.id) + " is for channel " +
                                               m.channel + ", not email");
  }
  auto row = render_row(m);
  if (!row) return row.error();
  MessageSpec spec{m.sender, m.recipient, row->text.subject, row->text.body, m.message_id,
                   m.created_at, std::move(row->attachments), std::move(row->html)};
  return render_message(spec, row->reply ? &*row->reply : nullptr);
}

}  // namespace stockwatch
