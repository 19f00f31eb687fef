// Slows down a client that keeps presenting wrong credentials: each failed
// attempt from one address makes the answer to the next failure wait
// longer (exponentially, up to a cap), so guessing a token over HTTP takes
// years instead of seconds.
//
// Contract:
// - failed() records one failure for a client and returns how long its
//   answer should wait; the caller waits on a timer (the HTTP thread is
//   never blocked). The client is a key from throttle_group(): one IPv4
//   address, or one IPv6 /64 (a single host usually holds a whole /64).
// - A success does not forget the failures: behind a reverse proxy every
//   client has the proxy's address, and a right token from someone else
//   must not reset a guesser's delay. The count steps down by one for
//   each `step_down_every` without a failure instead, and a client with
//   no failure for `forget_after` starts again from zero.
//   At most `max_clients` addresses are remembered: past that, the one
//   that failed longest ago is forgotten first, so a flood of addresses
//   cannot grow memory without bound.
// - Time comes from the Clock; not thread-safe (the HTTP thread only).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "base/clock.hpp"

namespace stockwatch::http {

struct FailureThrottleOptions {
  Duration first_delay{100};          // the answer to the first failure
  Duration max_delay{5000};           // never longer than this
  Duration forget_after{15 * 60 * 1000};
  std::size_t max_clients = 10'000;
  Duration step_down_every{60 * 1000};  // one failure fewer per quiet spell this long
};

class FailureThrottle {
 public:
  explicit FailureThrottle(const Clock& clock, FailureThrottleOptions options = {})
      : clock_(clock), options_(options) {}

  struct Verdict {
    std::uint64_t failures = 0;   // recent ones from this client, this one included
    Duration delay{0};            // wait this long before answering
  };
  [[nodiscard]] Verdict failed(std::string_view client);
  [[nodiscard]] std::size_t clients() const { return clients_.size(); }

 private:
  struct Client {
    std::uint64_t failures = 0;
    TimePoint last{};
  };
  const Clock& clock_;
  FailureThrottleOptions options_;
  std::map<std::string, Client, std::less<>> clients_;
};

// The address part of "ip:port" or "[v6]:port".
[[nodiscard]] std::string client_address(std::string_view remote);

// The unit of throttling for an address from client_address(): an IPv4
// address as it is ("192.0.2.7"; an IPv4-mapped IPv6 address counts as its
// IPv4 address), an IPv6 address as its /64 ("2001:db8:1:2::/64"), and
// anything else unchanged.
[[nodiscard]] std::string throttle_group(std::string_view address);

}  // namespace stockwatch::http
