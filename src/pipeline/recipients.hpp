// Who gets an alert: the subscriptions of [alerts] turned into recipients
// (a channel and an address there), and one queued outbox row per
// recipient.
//
// Contract:
// - recipients() lists every distinct (channel, address) once, with every
//   subscription that names it; its language is that of the first of them
//   (a subscription's own `language`, else [alerts] language).
// - A recipient wants an event for a store when any of its subscriptions
//   asks for the event (no `events`: every event) and covers the store (no
//   `stores`: every store).
// - outbox_message() fixes the Message-ID from (key, id_key, recipient), so
//   the same alert queued twice has the same id and the outbox keeps one.
// - The checker, the forecast stage, the expect stage (report_missing)
//   and the digest stage use these, so every event reaches every channel
//   in its recipient's language.
// - Pure functions over the configuration; a Recipient points into the
//   AlertsConfig it was made from, which must outlive it. Any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "config/config.hpp"
#include "notify/alert.hpp"
#include "store/storage.hpp"

namespace stockwatch {

struct Recipient {
  std::string channel;   // "email", "webhook", "telegram"
  std::string address;   // the mailbox, the URL, the chat id
  std::string language;
  std::vector<const Subscription*> subs;
};

[[nodiscard]] std::vector<Recipient> recipients(const AlertsConfig& cfg);
// The same for a list of subscriptions and the default language.
[[nodiscard]] std::vector<Recipient> recipients(const std::vector<Subscription>& subs,
                                                const std::string& language);
// The recipients of one subscription (its emails, webhook and chat), each
// in the subscription's language.
[[nodiscard]] std::vector<Recipient> recipients_of(const Subscription& sub,
                                                   const std::string& language);

// Whether `r` asks for `event`, for `store` (nullptr: any store).
[[nodiscard]] bool recipient_wants(const Recipient& r, std::string_view event,
                                   const std::string* store);

// Whether a subscription of `r` that covers every store (no `stores`) asks
// for `event`: an escalation goes only there.
[[nodiscard]] bool recipient_wants_every_store(const Recipient& r, std::string_view event);

// One queued message of `event` to one recipient with its payload (event
// data, rendered when sent); the Message-ID is fixed from (kind, id_key,
// recipient), an email's as 0.1 made it.
[[nodiscard]] OutboxMessage queued_message(const Recipient& recipient, const std::string& sender,
                                           std::string_view event, std::string payload,
                                           std::string_view kind, std::int64_t id_key,
                                           TimePoint now);

// One queued message to one recipient; the text is rendered from the event
// data when it is sent.
[[nodiscard]] OutboxMessage outbox_message(const AlertsConfig& cfg, const Recipient& recipient,
                                           const Alert& alert, const std::string& key,
                                           std::int64_t id_key, TimePoint now);

}  // namespace stockwatch
