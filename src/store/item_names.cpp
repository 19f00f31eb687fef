#include "store/item_names.hpp"

#include <algorithm>

#include "base/ascii.hpp"

namespace stockwatch {

namespace {
void sort_unique(ItemNames::Names& names) {
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
}

}  // namespace

Status ItemNames::bring_up_to(std::int64_t position, const ReadAll& all, const ReadSince& since) {
  const std::lock_guard reading(reading_);
  std::int64_t from = 0;
  {
    const std::shared_lock lock(mu_);
    if (filled_ && position <= position_) return {};
    from = position_;
  }
  if (!filled()) {
    auto names = all();
    if (!names) return names.error();
    reset(std::move(*names), position);
    return {};
  }
  auto names = since(from, position);
  if (!names) return names.error();
  add(std::move(*names), position);
  return {};
}

bool ItemNames::filled() const {
  const std::shared_lock lock(mu_);
  return filled_;
}

std::int64_t ItemNames::position() const {
  const std::shared_lock lock(mu_);
  return position_;
}

std::size_t ItemNames::size() const {
  const std::shared_lock lock(mu_);
  return names_.size();
}

void ItemNames::reset(Names names, std::int64_t position) {
  sort_unique(names);
  const std::unique_lock lock(mu_);
  names_ = std::move(names);
  position_ = position;
  filled_ = true;
}

void ItemNames::add(Names names, std::int64_t position) {
  sort_unique(names);
  const std::unique_lock lock(mu_);
  if (position <= position_) return;
  if (!names.empty()) {
    const auto old = static_cast<std::ptrdiff_t>(names_.size());
    names_.insert(names_.end(), std::make_move_iterator(names.begin()),
                  std::make_move_iterator(names.end()));
    std::inplace_merge(names_.begin(), names_.begin() + old, names_.end());
    names_.erase(std::unique(names_.begin(), names_.end()), names_.end());
  }
  position_ = position;
}

ItemNames::Names ItemNames::holding(std::string_view words) const {
  const std::string needle = ascii_lower(words);
  Names out;
  const std::shared_lock lock(mu_);
  for (const auto& name : names_) {
    if (ascii_holds(name, needle)) out.push_back(name);
  }
  return out;
}

ItemNames::Names ItemNames::from(std::string_view first, std::size_t n) const {
  const std::shared_lock lock(mu_);
  auto it = std::lower_bound(names_.begin(), names_.end(), first);
  const auto end = it + static_cast<std::ptrdiff_t>(
                            std::min<std::size_t>(n, static_cast<std::size_t>(names_.end() - it)));
  return Names(it, end);
}

}  // namespace stockwatch
