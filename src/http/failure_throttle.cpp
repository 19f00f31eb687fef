#include "http/failure_throttle.hpp"

#include <boost/asio/ip/address.hpp>

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
  } else {
    const Duration quiet = std::chrono::duration_cast<Duration>(now - it->second.last);
    if (quiet >= options_.forget_after) {
      it->second.failures = 0;
    } else if (options_.step_down_every.count() > 0 && quiet >= options_.step_down_every) {
      const auto steps = static_cast<std::uint64_t>(quiet / options_.step_down_every);
      it->second.failures -= std::min(it->second.failures, steps);
    }
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


std::string client_address(std::string_view remote) {
  if (!remote.empty() && remote.front() == '[') {
    const auto close = remote.find(']');
    return std::string(remote.substr(1, close == std::string_view::npos ? remote.npos : close - 1));
  }
  return std::string(remote.substr(0, remote.rfind(':')));
}

std::string throttle_group(std::string_view address) {
  boost::system::error_code ec;
  const auto a = boost::asio::ip::make_address(std::string(address), ec);
  if (ec) return std::string(address);
  if (a.is_v4()) return a.to_v4().to_string();
  const auto v6 = a.to_v6();
  if (v6.is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_string();
  }
  auto bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return boost::asio::ip::make_address_v6(bytes).to_string() + "/64";
}

}  // namespace stockwatch::http
