#include "notify/webhook.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "crypto/digest.hpp"
#include "notify/alert.hpp"
#include "notify/digest_mail.hpp"
#include "notify/mail_reply.hpp"
#include "notify/report_missing.hpp"
#include "notify/message.hpp"
#include "notify/template_mail.hpp"
#include "report/report_problem.hpp"
#include "text/masked_url.hpp"

namespace stockwatch {

namespace json = boost::json;

namespace {

std::string iso_time(TimePoint t) { return format_utc(t, "%Y-%m-%dT%H:%M:%SZ"); }

std::string slack_escaped(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out += c;
    }
  }
  return out;
}

// Sheets and mail replies are email only: a chat or a webhook has nothing
// to render them into.
Status chat_renders(const OutboxMessage& m) {
  if (m.payload.empty() || m.event == kTemplateEvent || m.event == kMailReplyEvent) {
    return Error(ErrorCode::kInvalidInput,
                 "message " + std::to_string(m.id) + " has no alert data for channel " + m.channel);
  }
  return {};
}

// A wall-clock time with its offset, e.g. "2026-12-07T07:00:00+07:00".
json::value local_time_json(const LocalTime& t) {
  const auto secs = static_cast<long>(t.offset.count());
  char off[24];
  std::snprintf(off, sizeof off, "%c%02ld:%02ld", secs < 0 ? '-' : '+', std::labs(secs) / 3600,
                std::labs(secs) % 3600 / 60);
  return json::value(format_utc(TimePoint(t.local()), "%Y-%m-%dT%H:%M:%S") + off);
}

json::value utc_json(std::optional<TimePoint> t) {
  if (!t) return nullptr;
  return json::value(iso_time(*t));
}

// An item object of the schema: store, item, count, minimum, previous_count.
json::object item_json(const std::string& store, const std::string& item, std::int64_t count,
                       std::optional<std::int64_t> minimum, std::optional<std::int64_t> previous) {
  json::object it;
  it["store"] = store;
  it["item"] = item;
  it["count"] = count;
  if (minimum) it["minimum"] = *minimum;
  else it["minimum"] = nullptr;
  if (previous) it["previous_count"] = *previous;
  else it["previous_count"] = nullptr;
  return it;
}

json::array store_array(const std::vector<std::string>& stores) {
  json::array out;
  for (const auto& s : stores) out.emplace_back(s);
  return out;
}

// An alert about items: the items, their stores and the report.
Status fill_alert(json::object& o, const OutboxMessage& m, const Catalog& catalog) {
  auto alert = decode_alert(m.payload);
  if (!alert) return alert.error();
  const Alert& a = *alert;
  std::vector<std::string> stores;
  for (const auto& i : a.items) {
    if (std::find(stores.begin(), stores.end(), i.store) == stores.end()) stores.push_back(i.store);
  }
  if (stores.size() == 1 && !a.many_stores && a.stores <= 1) o["store"] = stores.front();
  else o["store"] = nullptr;
  o["stores"] = store_array(stores);
  json::array items;
  for (const auto& i : a.items) {
    items.push_back(item_json(i.store, i.item, i.new_count, i.minimum, i.old_count));
  }
  o["items"] = std::move(items);
  o["items_total"] = a.total;
  o["report"] = json::object{{"id", a.report_id},
                             {"file", a.report_path},
                             {"time", iso_time(a.report_time)}};
  if (a.event == EventKind::kReportRejected) {
    json::array problems;
    for (auto& line : rendered_problem_lines(a.problems, a.problems_text, catalog)) {
      problems.emplace_back(line);
    }
    o["problems"] = std::move(problems);
  }
  return {};
}

// report_missing: the store, and the deadline it missed.
Status fill_missing(json::object& o, const OutboxMessage& m) {
  auto mail = decode_report_missing(m.payload);
  if (!mail) return mail.error();
  const ReportMissingMail& r = *mail;
  o["store"] = r.store;
  o["stores"] = store_array({r.store});
  o["items"] = json::array();
  o["items_total"] = 0;
  o["report"] = nullptr;
  json::object missing;
  missing["due"] = iso_time(r.due);
  missing["last_report"] = utc_json(r.last_report);
  if (r.day_of_month > 0) missing["day_of_month"] = r.day_of_month;
  else missing["within_days"] = r.within_days;
  missing["timezone"] = r.zone;
  missing["escalated"] = r.escalated;
  missing["days_late"] = r.days_late;
  o["missing"] = std::move(missing);
  return {};
}

// digest: the period, and what the digest lists.
Status fill_digest(json::object& o, const OutboxMessage& m) {
  auto digest = decode_digest(m.payload);
  if (!digest) return digest.error();
  const DigestMail& d = *digest;
  std::vector<std::string> stores;
  const auto note = [&stores](const std::string& s) {
    if (std::find(stores.begin(), stores.end(), s) == stores.end()) stores.push_back(s);
  };
  json::array items;
  for (const auto& i : d.out_of_stock) {
    note(i.store);
    items.push_back(item_json(i.store, i.item, i.count, std::nullopt, std::nullopt));
  }
  for (const auto& i : d.below_minimum) {
    note(i.store);
    items.push_back(item_json(i.store, i.item, i.count, i.minimum, std::nullopt));
  }
  o["store"] = stores.size() == 1 ? json::value(stores.front()) : json::value(nullptr);
  o["stores"] = store_array(stores);
  o["items"] = std::move(items);
  o["items_total"] = d.out_of_stock_total + d.below_minimum_total;
  o["report"] = nullptr;
  json::object g;
  g["every"] = d.every;
  g["from"] = local_time_json(d.from);
  g["to"] = local_time_json(d.to);
  g["timezone"] = d.zone;
  g["out_of_stock_total"] = d.out_of_stock_total;
  g["below_minimum_total"] = d.below_minimum_total;
  const auto store_times = [&](const std::vector<DigestMail::StoreAt>& list, const char* key) {
    json::array a;
    for (const auto& s : list) a.push_back(json::object{{"store", s.store}, {key, local_time_json(s.at)}});
    return a;
  };
  g["received"] = store_times(d.received, "received");
  g["missing"] = store_times(d.missing, "due");
  json::array changes;
  for (const auto& c : d.changes) {
    json::object x = item_json(c.store, c.item, c.new_count, std::nullopt, c.old_count);
    x["report"] = c.report_id;
    changes.push_back(std::move(x));
  }
  g["changes"] = std::move(changes);
  json::array transfers;
  for (const auto& t : d.transfers) {
    transfers.push_back(json::object{{"item", t.item},
                                     {"from", t.from},
                                     {"to", t.to},
                                     {"quantity", t.quantity},
                                     {"from_count", t.from_count},
                                     {"to_count", t.to_count}});
  }
  g["transfers"] = std::move(transfers);
  o["digest"] = std::move(g);
  return {};
}

}  // namespace

Result<std::string> chat_text(const OutboxMessage& m, bool slack_escape) {
  if (auto st = chat_renders(m); !st.ok()) return st.error();
  auto rendered = render_outbox_text(m);
  if (!rendered) return rendered.error();
  const RenderedText& text = *rendered;
  std::string body = text.body;
  while (!body.empty() && body.back() == '\n') body.pop_back();
  std::string out = sanitize_text(text.subject) + "\n\n";
  // The body's line ends stay; other control characters go.
  std::size_t start = 0;
  while (start <= body.size()) {
    std::size_t nl = body.find('\n', start);
    if (nl == std::string::npos) nl = body.size();
    out += sanitize_text(std::string_view(body).substr(start, nl - start));
    if (nl < body.size()) out += '\n';
    start = nl + 1;
  }
  return slack_escape ? slack_escaped(out) : out;
}

Result<std::string> webhook_body(const OutboxMessage& m) {
  if (auto st = chat_renders(m); !st.ok()) return st.error();
  const Catalog& catalog = catalog_for(m.language);
  auto text = render_outbox_text(m);
  if (!text) return text.error();
  auto chat = chat_text(m, true);
  if (!chat) return chat.error();

  json::object o;
  o["schema"] = "stockwatch.alert";
  o["version"] = kWebhookSchemaVersion;
  o["id"] = m.message_id;
  o["event"] = m.event;
  o["language"] = m.language;
  o["created"] = iso_time(m.created_at);
  Status filled;
  if (m.event == event_name(EventKind::kReportMissing)) filled = fill_missing(o, m);
  else if (m.event == event_name(EventKind::kDigest)) filled = fill_digest(o, m);
  else filled = fill_alert(o, m, catalog);
  if (!filled.ok()) return filled.error();
  o["subject"] = text->subject;
  o["text"] = *chat;
  return json::serialize(o);
}

std::string webhook_signature(std::string_view secret, std::string_view body) {
  return "sha256=" + to_hex(hmac_sha256(secret, body));
}

SendOutcome WebhookChannel::deliver(const OutboxMessage& m) {
  using Kind = SendOutcome::Kind;
  const std::string shown = "webhook " + mask_url_path(m.recipient);
  const auto secret = secrets_.find(m.recipient);
  if (secret == secrets_.end()) {
    return {Kind::kPermanent, 0,
            shown + ": no [[alerts.subscription]] has this webhook any more, so its secret is "
                    "unknown",
            "Add the subscription back (with its secret_file) and reload, then send the message "
            "again with `stockwatch outbox retry`."};
  }
  auto body = webhook_body(m);
  if (!body) return {Kind::kPermanent, 0, shown + ": " + body.error().message()};
  std::vector<std::string> headers = {
      "Content-Type: application/json; charset=utf-8",
      "User-Agent: stockwatch",
      "X-Stockwatch-Signature: " + webhook_signature(secret->second, *body),
      "X-Stockwatch-Event: " + sanitize_text(m.event),
      "X-Stockwatch-Delivery: " + sanitize_text(m.message_id),
      "Expect:",
  };
  const HttpPostReply reply = http_post(m.recipient, headers, *body, options_);
  SendOutcome out = classify_http(reply, shown, std::chrono::system_clock::now());
  // Whatever libcurl or the receiver said, the URL's path and the secret stay out.
  out.detail = mask_secret(mask_secret(out.detail, m.recipient), secret->second);
  return out;
}

}  // namespace stockwatch
