// The Telegram channel: one sendMessage call of the Bot API per message,
// POST <api_url>/bot<token>/sendMessage with {"chat_id","text"}.
//
// Contract:
// - The token is in the URL's path, so no URL is ever shown: every outcome
//   names the receiver as "telegram chat <id> via <api_url host>" and has
//   the token masked ("***") in whatever libcurl or the answer said.
// - Telegram answers 429 with {"parameters":{"retry_after":N}} and a
//   Retry-After header: either is honoured. 400 (chat not found), 401 (bad
//   token) and 403 (the bot was blocked) are permanent.
// - The text is plain (no parse_mode), at most 4096 characters: a longer
//   one is cut at a line end and says so.
#pragma once

#include <string>

#include "config/config.hpp"
#include "notify/channel.hpp"
#include "notify/http_post.hpp"

namespace stockwatch {

// The JSON body of sendMessage for `message` (pure).
[[nodiscard]] Result<std::string> telegram_body(const OutboxMessage& message);

class TelegramChannel final : public Channel {
 public:
  TelegramChannel(TelegramConfig config, HttpPostOptions options)
      : config_(std::move(config)), options_(options) {}
  [[nodiscard]] SendOutcome deliver(const OutboxMessage& message) override;

 private:
  TelegramConfig config_;
  HttpPostOptions options_;
};

}  // namespace stockwatch
