#include "http/auth.hpp"

#include <spdlog/spdlog.h>

#include "crypto/digest.hpp"

namespace stockwatch::http {

namespace bhttp = boost::beast::http;

namespace {
constexpr std::string_view kBearer = "Bearer ";

// 1, 2, 4, 8, ...: enough to see a flood in the log without one line per
// attempt.
bool worth_logging(std::uint64_t n) { return (n & (n - 1)) == 0; }
}  // namespace

AuthResult BearerTokenAuthenticator::authenticate(const RequestHead& head, const std::string& remote) {
  if (token_.empty()) {
    return {Identity{"anyone (http.token is not set)", Role::kReader, {}, {}}, {}};
  }
  const auto field = head[bhttp::field::authorization];
  const std::string_view auth(field.data(), field.size());
  if (!starts_with_ignoring_case(auth, kBearer)) return {};
  const std::string_view presented = auth.substr(kBearer.size());
  if (constant_time_equal(presented, token_)) {
    // The failures stay counted: behind a proxy this success may be
    // someone else's (FailureThrottle).
    return {Identity{"the bearer token", Role::kOwner, {}, {}}, {}};
  }
  const std::string group = throttle_group(client_address(remote));
  const auto verdict = throttle_.failed(group);
  const auto log_level = worth_logging(verdict.failures) ? spdlog::level::warn : spdlog::level::debug;
  spdlog::log(log_level,
              "http {}: {} {} refused: wrong bearer token ({} recent from {}; "
              "answered after {} ms)",
              remote, std::string(head.method_string()), std::string(head.target()),
              verdict.failures, group, verdict.delay.count());
  return {{}, Refusal{401, "the bearer token is wrong", "Bearer realm=\"stockwatch\"",
                      verdict.delay, {}}};
}

AuthResult AuthChain::authenticate(const RequestHead& head, const std::string& remote) const {
  for (Authenticator* a : chain_) {
    auto result = a->authenticate(head, remote);
    if (result.decided()) return result;
  }
  return {{}, missing_};
}

}  // namespace stockwatch::http
