#include "http/failure_throttle.hpp"

#include <algorithm>

namespace stockwatch::http {

FailureThrottle::Verdict FailureThrottle::failed(std::string_view client) {
  const TimePoint now = clock_.now();
  auto it = clients_.find(client);
  if (it == clients_.end()) {
    if (clients_.size() >= options_.max_clients) {
      const auto oldest = std::min_element(clients_.begin(), clients_.end(), [](auto& a, auto& b) {
        return a.second.last < b.second.last;
      });
      clients_.erase(oldest);
    }
    it = clients_.emplace(std::string(client), Client{}).first;
  } else if (now - it->second.last >= options_.forget_after) {
    it->second.failures = 0;
  }
  Client& c = it->second;
  ++c.failures;
  c.last = now;
  // first_delay, doubled per failure before this one, capped.
  const auto doublings = static_cast<int>(std::min<std::uint64_t>(c.failures - 1, 30));
  const Duration delay =
      std::min<Duration>(options_.max_delay, Duration(options_.first_delay.count() << doublings));
  return {c.failures, delay};
}

void FailureThrottle::succeeded(std::string_view client) {
  if (auto it = clients_.find(client); it != clients_.end()) clients_.erase(it);
}

std::string client_address(std::string_view remote) {
  if (!remote.empty() && remote.front() == '[') {
    const auto close = remote.find(']');
    return std::string(remote.substr(1, close == std::string_view::npos ? remote.npos : close - 1));
  }
  return std::string(remote.substr(0, remote.rfind(':')));
}

}  // namespace stockwatch::http
