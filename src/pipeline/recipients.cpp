#include "pipeline/recipients.hpp"

#include <algorithm>

#include "notify/message.hpp"
#include "pipeline/event.hpp"
#include "text/catalog.hpp"

namespace stockwatch {

namespace {

bool wants(const Subscription& sub, std::string_view event) {
  return sub.events.empty() || std::find(sub.events.begin(), sub.events.end(), event) != sub.events.end();
}

bool covers_store(const Subscription& sub, const std::string& store) {
  return sub.stores.empty() || std::find(sub.stores.begin(), sub.stores.end(), store) != sub.stores.end();
}

}  // namespace

std::vector<Recipient> recipients(const AlertsConfig& cfg) {
  std::vector<Recipient> out;
  const auto add = [&](const Subscription& sub, const char* channel, const std::string& address) {
    auto it = std::find_if(out.begin(), out.end(), [&](const Recipient& r) {
      return r.channel == channel && r.address == address;
    });
    if (it == out.end()) {
      out.push_back({channel, address, sub.language.empty() ? cfg.language : sub.language, {}});
      it = out.end() - 1;
    }
    it->subs.push_back(&sub);
  };
  for (const auto& sub : cfg.subscriptions) {
    for (const auto& email : sub.emails) add(sub, "email", email);
    if (!sub.webhook.empty()) add(sub, "webhook", sub.webhook);
    if (!sub.telegram.empty()) add(sub, "telegram", sub.telegram);
  }
  return out;
}

bool recipient_wants(const Recipient& r, std::string_view event, const std::string* store) {
  return std::any_of(r.subs.begin(), r.subs.end(), [&](const Subscription* s) {
    return wants(*s, event) && (!store || covers_store(*s, *store));
  });
}

OutboxMessage outbox_message(const AlertsConfig& cfg, const Recipient& recipient,
                             const Alert& alert, const std::string& key, std::int64_t id_key,
                             TimePoint now) {
  OutboxMessage m;
  // An email's id as 0.1 made it; another channel's names the channel too.
  const std::string id_recipient =
      recipient.channel == "email" ? recipient.address : recipient.channel + ":" + recipient.address;
  m.message_id = make_message_id(key, id_key, id_recipient, cfg.from);
  m.report_id = alert.report_id;
  m.event = std::string(event_name(alert.event));
  m.channel = recipient.channel;
  m.sender = cfg.from;
  m.recipient = recipient.address;
  m.language = recipient.language;
  if (recipient.language != "en" && cfg.subject == AlertsConfig{}.subject) {
    // The default subject is English: another language has its own.
    Alert translated = alert;
    translated.subject_prefix = std::string(catalog_for(recipient.language).text("alert.subject"));
    m.payload = encode_alert(translated);
  } else {
    m.payload = encode_alert(alert);
  }
  m.created_at = now;
  m.next_attempt_at = now;
  return m;
}

}  // namespace stockwatch
