#include "pipeline/recipients.hpp"

#include <algorithm>
#include <span>

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

std::vector<Recipient> recipients_in(std::span<const Subscription> subs, const std::string& language) {
  std::vector<Recipient> out;
  const auto add = [&](const Subscription& sub, const char* channel, const std::string& address) {
    auto it = std::find_if(out.begin(), out.end(), [&](const Recipient& r) {
      return r.channel == channel && r.address == address;
    });
    if (it == out.end()) {
      out.push_back({channel, address, sub.language.empty() ? language : sub.language, {}});
      it = out.end() - 1;
    }
    it->subs.push_back(&sub);
  };
  for (const auto& sub : subs) {
    for (const auto& email : sub.emails) add(sub, "email", email);
    if (!sub.webhook.empty()) add(sub, "webhook", sub.webhook);
    if (!sub.telegram.empty()) add(sub, "telegram", sub.telegram);
  }
  return out;
}

}  // namespace

std::vector<Recipient> recipients(const AlertsConfig& cfg) {
  return recipients_in(cfg.subscriptions, cfg.language);
}

std::vector<Recipient> recipients(const std::vector<Subscription>& subs, const std::string& language) {
  return recipients_in(subs, language);
}

std::vector<Recipient> recipients_of(const Subscription& sub, const std::string& language) {
  return recipients_in(std::span<const Subscription>(&sub, 1), language);
}

bool recipient_wants_every_store(const Recipient& r, std::string_view event) {
  return std::any_of(r.subs.begin(), r.subs.end(),
                     [&](const Subscription* s) { return wants(*s, event) && s->stores.empty(); });
}

OutboxMessage queued_message(const Recipient& recipient, const std::string& sender,
                             std::string_view event, std::string payload, std::string_view kind,
                             std::int64_t id_key, TimePoint now) {
  OutboxMessage m;
  // An email's id as 0.1 made it; another channel's names the channel too.
  const std::string id_recipient =
      recipient.channel == "email" ? recipient.address : recipient.channel + ":" + recipient.address;
  m.message_id = make_message_id(kind, id_key, id_recipient, sender);
  m.event = std::string(event);
  m.channel = recipient.channel;
  m.sender = sender;
  m.recipient = recipient.address;
  m.language = recipient.language;
  m.payload = std::move(payload);
  m.created_at = now;
  m.next_attempt_at = now;
  return m;
}

bool recipient_wants(const Recipient& r, std::string_view event, const std::string* store) {
  return std::any_of(r.subs.begin(), r.subs.end(), [&](const Subscription* s) {
    return wants(*s, event) && (!store || covers_store(*s, *store));
  });
}

OutboxMessage outbox_message(const AlertsConfig& cfg, const Recipient& recipient,
                             const Alert& alert, const std::string& key, std::int64_t id_key,
                             TimePoint now) {
  std::string payload;
  if (recipient.language != "en" && cfg.subject == AlertsConfig{}.subject) {
    // The default subject is English: another language has its own.
    Alert translated = alert;
    translated.subject_prefix = std::string(catalog_for(recipient.language).text("alert.subject"));
    payload = encode_alert(translated);
  } else {
    payload = encode_alert(alert);
  }
  OutboxMessage m = queued_message(recipient, cfg.from, event_name(alert.event), std::move(payload),
                                   key, id_key, now);
  m.report_id = alert.report_id;
  return m;
}

}  // namespace stockwatch
