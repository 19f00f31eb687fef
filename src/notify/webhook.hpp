// The webhook channel: one signed JSON POST per message.
//
// Contract:
// - The body is schema "stockwatch.alert" version 1 (docs/alerts.md):
//   {"schema":"stockwatch.alert","version":1,"id":<Message-ID>,"event":...,
//   "language":...,"store":<name or null>,"stores":[...],"items":[{"store",
//   "item","count","minimum","previous_count"}],"items_total":N,"report":{
//   "id","file","time"},"problems":[...],"subject":...,"text":...}. `text`
//   is the subject and body as chat text (&, < and > escaped as Slack
//   asks), so a Slack or Mattermost incoming webhook takes it unchanged.
//   report_missing has no items and "report":null, and a "missing" object
//   (due, last_report, within_days or day_of_month, timezone, escalated,
//   days_late); a digest lists the items out of stock and below minimum
//   in "items" and the rest in a "digest" object (every, from, to,
//   timezone, totals, received, missing, changes, transfers).
//   New fields may be added within a version; a change that breaks a
//   reader gets a new version. Sheets and mail replies are email only.
// - Headers: Content-Type: application/json, X-Stockwatch-Signature:
//   sha256=<hex HMAC-SHA256 of the body under the subscription's secret>,
//   X-Stockwatch-Event, X-Stockwatch-Delivery (the Message-ID, the same at
//   every retry: a receiver drops a second copy by it).
// - webhook_body() and webhook_signature() are pure; the channel blocks
//   (notify/channel.hpp).
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "notify/channel.hpp"
#include "notify/http_post.hpp"

namespace stockwatch {

inline constexpr int kWebhookSchemaVersion = 1;

[[nodiscard]] Result<std::string> webhook_body(const OutboxMessage& message);
// "sha256=<64 hex digits>".
[[nodiscard]] std::string webhook_signature(std::string_view secret, std::string_view body);
// The chat text of a message (subject, blank line, body), for chat
// channels; `slack_escape` escapes &, < and >.
[[nodiscard]] Result<std::string> chat_text(const OutboxMessage& message, bool slack_escape);

class WebhookChannel final : public Channel {
 public:
  // `secrets`: each subscription's webhook URL and its secret.
  WebhookChannel(std::map<std::string, std::string, std::less<>> secrets, HttpPostOptions options)
      : secrets_(std::move(secrets)), options_(options) {}
  [[nodiscard]] SendOutcome deliver(const OutboxMessage& message) override;

 private:
  std::map<std::string, std::string, std::less<>> secrets_;
  HttpPostOptions options_;
};

}  // namespace stockwatch
