#include "pipeline/minimum_levels.hpp"

namespace stockwatch {

MinimumLevels::MinimumLevels(std::span<const LevelLine> lines, std::int64_t default_minimum)
    : fallback_(default_minimum), lines_(lines.size()) {
  bool any_any = false;
  for (const auto& l : lines) {
    const bool any_store = l.store == kAnyName, any_item = l.item == kAnyName;
    if (any_store && any_item) {
      fallback_ = l.minimum;
      any_any = true;
    } else if (any_store) {
      by_item_[l.item] = l.minimum;
    } else if (any_item) {
      by_store_[l.store] = l.minimum;
    } else {
      std::string key;
      key.reserve(l.store.size() + 1 + l.item.size());
      key.append(l.store).append(1, '\0').append(l.item);
      exact_[std::move(key)] = l.minimum;
    }
  }
  (void)any_any;
  trivial_ = fallback_ <= 0;
  for (const auto& l : lines) {
    if (l.minimum > 0) trivial_ = false;
  }
}

std::int64_t MinimumLevels::minimum_of(std::string_view store, std::string_view item) const {
  if (!exact_.empty()) {
    std::string key;
    key.reserve(store.size() + 1 + item.size());
    key.append(store).append(1, '\0').append(item);
    if (auto it = exact_.find(std::string_view(key)); it != exact_.end()) return it->second;
  }
  if (!by_item_.empty()) {
    if (auto it = by_item_.find(item); it != by_item_.end()) return it->second;
  }
  if (!by_store_.empty()) {
    if (auto it = by_store_.find(store); it != by_store_.end()) return it->second;
  }
  return fallback_;
}

}  // namespace stockwatch
