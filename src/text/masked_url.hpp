// URLs and secrets as they may be shown in logs, errors and pages.
//
// Contract: pure functions, safe from any thread. A webhook URL is often a
// secret itself (Slack's and Mattermost's hold a key in their path), and the
// Telegram Bot API puts the bot's token in the path: neither is ever shown
// whole.
#pragma once

#include <string>
#include <string_view>

namespace stockwatch {

// "https://user:pw@hooks.example.com/services/T0/B0/XYZ?x=1" is shown as
// "https://hooks.example.com/..." (the scheme and host, never the
// user-info, the path or the query); a URL without a path as it is
// (without its user-info).
[[nodiscard]] std::string mask_url_path(std::string_view url);

// `text` with every occurrence of `secret` (when it is not empty) replaced
// by "***": for error texts that may quote a URL holding the secret.
[[nodiscard]] std::string mask_secret(std::string_view text, std::string_view secret);

}  // namespace stockwatch
