#include "inbox/arrivals.hpp"

#include <utility>

namespace stockwatch {

void Arrivals::expect(const std::string& relative, std::string by) {
  std::lock_guard lock(mutex_);
  by_[relative] = std::move(by);
}

void Arrivals::forget(const std::string& relative) {
  std::lock_guard lock(mutex_);
  by_.erase(relative);
}

std::string Arrivals::of(const std::string& relative) const {
  std::lock_guard lock(mutex_);
  const auto it = by_.find(relative);
  return it == by_.end() ? kFolder : it->second;
}

}  // namespace stockwatch
