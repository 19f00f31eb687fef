#include "notify/telegram.hpp"

#include <boost/json.hpp>

#include "notify/webhook.hpp"
#include "text/masked_url.hpp"
#include "text/utf8.hpp"

namespace stockwatch {

namespace json = boost::json;

namespace {

// Telegram's limit for one message, in characters.
constexpr std::size_t kMaxChars = 4096;

// At most kMaxChars characters as Telegram counts them (UTF-16 units: a
// character outside the BMP, such as an emoji, counts twice), cut at a line
// end, with room for the closing "\n...".
std::string fit(std::string text) {
  constexpr std::size_t kKeep = kMaxChars - 8;
  std::size_t units = 0, pos = 0;
  while (pos < text.size()) {
    const std::size_t len = std::max<std::size_t>(utf8_sequence_length(text, pos), 1);
    const std::size_t u = len == 4 ? 2 : 1;
    if (units + u > kKeep) break;
    units += u;
    pos += len;
  }
  if (pos >= text.size()) return text;
  std::size_t cut = text.rfind('\n', pos);
  if (cut == std::string::npos || cut == 0) cut = pos;
  text.resize(cut);
  text += "\n...";
  return text;
}

std::string api_base(const std::string& url) {
  std::string out = url;
  while (!out.empty() && out.back() == '/') out.pop_back();
  return out;
}

}  // namespace

Result<std::string> telegram_body(const OutboxMessage& m) {
  auto text = chat_text(m, false);
  if (!text) return text.error();
  json::object o;
  o["chat_id"] = m.recipient;
  o["text"] = fit(std::move(*text));
  o["disable_web_page_preview"] = true;
  return json::serialize(o);
}

SendOutcome TelegramChannel::deliver(const OutboxMessage& m) {
  using Kind = SendOutcome::Kind;
  const std::string shown =
      "telegram chat " + m.recipient + " via " + mask_url_path(config_.api_url);
  auto body = telegram_body(m);
  if (!body) return {Kind::kPermanent, 0, shown + ": " + body.error().message()};
  const std::string url = api_base(config_.api_url) + "/bot" + config_.token + "/sendMessage";
  const HttpPostReply reply =
      http_post(url, {"Content-Type: application/json; charset=utf-8", "Expect:"}, *body, options_);
  SendOutcome out = classify_http(reply, shown, std::chrono::system_clock::now());
  // Telegram says how long to wait in the body too.
  if (reply.status == 429 && !out.retry_after) {
    boost::system::error_code ec;
    const json::value v = json::parse(reply.body, ec);
    if (!ec && v.is_object()) {
      const auto* p = v.as_object().if_contains("parameters");
      const auto* r = p && p->is_object() ? p->as_object().if_contains("retry_after") : nullptr;
      if (r && r->is_int64() && r->as_int64() >= 0) {
        out.retry_after = std::min<std::chrono::milliseconds>(std::chrono::seconds(r->as_int64()),
                                                              kMaxRetryAfter);
      }
    }
  }
  if (reply.status == 401 || reply.status == 404) {
    out.advice = "Telegram does not know this bot token: check [telegram] token_file (the token "
                 "from @BotFather), reload, then send the message again.";
  } else if (reply.status == 400 || reply.status == 403) {
    out.advice = "Telegram refused this chat: check the chat id, and that the bot is a member of "
                 "the group (or that the person has started the bot and not blocked it).";
  }
  out.detail = mask_secret(mask_secret(out.detail, url), config_.token);
  out.advice = mask_secret(out.advice, config_.token);
  return out;
}

}  // namespace stockwatch
