#include "notify/webhook.hpp"

#include <boost/json.hpp>

#include <algorithm>

#include "crypto/digest.hpp"
#include "notify/alert.hpp"
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

Result<Alert> alert_of(const OutboxMessage& m) {
  if (m.payload.empty() || m.event == kTemplateEvent) {
    return Error(ErrorCode::kInvalidInput,
                 "message " + std::to_string(m.id) + " has no alert data for channel " + m.channel);
  }
  return decode_alert(m.payload);
}

}  // namespace

Result<std::string> chat_text(const OutboxMessage& m, bool slack_escape) {
  auto alert = alert_of(m);
  if (!alert) return alert.error();
  const RenderedText text = render_alert(*alert, catalog_for(m.language));
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
  auto alert = alert_of(m);
  if (!alert) return alert.error();
  const Alert& a = *alert;
  const Catalog& catalog = catalog_for(m.language);
  const RenderedText text = render_alert(a, catalog);
  auto chat = chat_text(m, true);
  if (!chat) return chat.error();

  json::object o;
  o["schema"] = "stockwatch.alert";
  o["version"] = kWebhookSchemaVersion;
  o["id"] = m.message_id;
  o["event"] = m.event;
  o["language"] = m.language;
  o["created"] = iso_time(m.created_at);
  std::vector<std::string> stores;
  for (const auto& i : a.items) {
    if (std::find(stores.begin(), stores.end(), i.store) == stores.end()) stores.push_back(i.store);
  }
  if (stores.size() == 1 && !a.many_stores && a.stores <= 1) o["store"] = stores.front();
  else o["store"] = nullptr;
  json::array store_list;
  for (const auto& s : stores) store_list.emplace_back(s);
  o["stores"] = std::move(store_list);
  json::array items;
  for (const auto& i : a.items) {
    json::object it;
    it["store"] = i.store;
    it["item"] = i.item;
    it["count"] = i.new_count;
    if (i.minimum) it["minimum"] = *i.minimum;
    else it["minimum"] = nullptr;
    if (i.old_count) it["previous_count"] = *i.old_count;
    else it["previous_count"] = nullptr;
    items.push_back(std::move(it));
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
  o["subject"] = text.subject;
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
