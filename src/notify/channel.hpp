// A delivery channel other than email: one type per channel (webhook,
// Telegram; WhatsApp's Cloud API next), each turning one outbox message
// into one request and saying whether it was delivered, should be retried
// or was refused for good. Retries, backoff, claims and exactly-once live
// once, above the channels, in the mailer (notify/mailer.hpp).
//
// Contract:
// - deliver() renders the message from its row (payload, language,
//   recipient, Message-ID) at each attempt, so every retry sends the same
//   bytes with the same id; it blocks (network) and never throws. Run it on
//   the mail strand, never on the event loop.
// - No token, secret or secret-bearing URL goes into an outcome's text.
// - A Channels set is built from one configuration and replaced whole on
//   reload (on the mail strand). One thread uses it at a time.
//
// The message model, and the next channel: an outbox row holds the event
// data (notify/alert.hpp: event, items with count, minimum and previous
// count, report), never text. Each channel renders it at the edge: email
// as text and HTML, the webhook as versioned JSON, Telegram as chat text. A
// template-based channel such as WhatsApp's Cloud API (business-initiated
// messages only through pre-approved templates) fits the same way: its
// channel maps the event to an approved template name and language
// (event_name() and the row's language) and fills the template's
// parameters from the same fields (store, item, count), so no free text is
// needed.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "notify/transport.hpp"
#include "store/storage.hpp"

namespace stockwatch {

class Channel {
 public:
  virtual ~Channel() = default;
  [[nodiscard]] virtual SendOutcome deliver(const OutboxMessage& message) = 0;
};

// The channels of one configuration, by the outbox's channel name.
class Channels {
 public:
  // `deadline` (optional) is the shutdown deadline; it must outlive this.
  static std::unique_ptr<Channels> from(const Config& config, const SendDeadline* deadline);
  // A set of one channel (for tests).
  static std::unique_ptr<Channels> with(std::string name, std::unique_ptr<Channel> channel);
  // The channel named `name` ("webhook", "telegram"), or null.
  [[nodiscard]] Channel* find(std::string_view name) const;

 private:
  std::map<std::string, std::unique_ptr<Channel>, std::less<>> channels_;
};

// The recipient of a message as logs show it: a webhook's URL without its
// path (which may hold a key), a chat id or an email address as it is.
[[nodiscard]] std::string shown_recipient(const OutboxMessage& message);

}  // namespace stockwatch
