// One HTTP POST through libcurl, and what its answer means for delivery:
// the part every HTTP channel (webhook, Telegram, later WhatsApp) shares.
//
// Contract:
// - http_post() blocks up to its time-outs (and stops when the shutdown
//   deadline passes): call it on the mail strand, never on the event loop.
//   It never throws; libcurl's failure is in the reply. Redirects are not
//   followed (a signed body is not sent on to another address).
// - classify_http() is the one rule for outcomes: 2xx sent; 429 and 503
//   temporary, with the receiver's Retry-After when it gave one; other 5xx,
//   connection failures and time-outs temporary; every other answer (4xx
//   other than 429, 3xx) permanent: the message is kept as dead, visible and
//   retryable (`stockwatch outbox retry`). `shown` names the receiver in the
//   outcome's text; no URL path, token or secret goes into it.
// - parse_retry_after() reads delta-seconds or an HTTP-date (RFC 9110
//   section 10.2.3); pure.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "notify/transport.hpp"

namespace stockwatch {

struct HttpPostReply {
  int curl_code = 0;          // CURLcode; 0 = an answer came
  long status = 0;            // the HTTP status, 0 when none
  std::string retry_after;    // the Retry-After header, if any
  std::string body;           // the first kMaxBody bytes of the answer
  std::string error;          // libcurl's message when curl_code != 0
  static constexpr std::size_t kMaxBody = 4096;
};

struct HttpPostOptions {
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds timeout{30};
  const SendDeadline* deadline = nullptr;   // shutdown: stop at this time
};

[[nodiscard]] HttpPostReply http_post(const std::string& url,
                                      const std::vector<std::string>& headers,
                                      const std::string& body, const HttpPostOptions& options);

// The wait a Retry-After value asks for at `now` (never negative, at most
// kMaxRetryAfter); nullopt when it is neither form.
[[nodiscard]] std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                                         TimePoint now);
inline constexpr std::chrono::hours kMaxRetryAfter{24};

[[nodiscard]] SendOutcome classify_http(const HttpPostReply& reply, std::string_view shown,
                                        TimePoint now);

}  // namespace stockwatch
