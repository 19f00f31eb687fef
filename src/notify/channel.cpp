#include "notify/channel.hpp"

#include "notify/telegram.hpp"
#include "notify/webhook.hpp"
#include "text/masked_url.hpp"

namespace stockwatch {

std::unique_ptr<Channels> Channels::from(const Config& config, const SendDeadline* deadline) {
  auto out = std::make_unique<Channels>();
  HttpPostOptions options;
  options.deadline = deadline;
  std::map<std::string, std::string, std::less<>> secrets;
  for (const auto& sub : config.alerts.subscriptions) {
    if (!sub.webhook.empty()) secrets.emplace(sub.webhook, sub.secret);
  }
  out->channels_.emplace("webhook", std::make_unique<WebhookChannel>(std::move(secrets), options));
  if (!config.telegram.token.empty()) {
    out->channels_.emplace("telegram", std::make_unique<TelegramChannel>(config.telegram, options));
  }
  return out;
}

std::unique_ptr<Channels> Channels::with(std::string name, std::unique_ptr<Channel> channel) {
  auto out = std::make_unique<Channels>();
  out->channels_.emplace(std::move(name), std::move(channel));
  return out;
}

Channel* Channels::find(std::string_view name) const {
  const auto it = channels_.find(name);
  return it == channels_.end() ? nullptr : it->second.get();
}

std::string shown_recipient(const OutboxMessage& m) {
  if (m.channel == "webhook") return mask_url_path(m.recipient);
  if (m.channel == "telegram") return "telegram chat " + m.recipient;
  return m.recipient;
}

}  // namespace stockwatch
