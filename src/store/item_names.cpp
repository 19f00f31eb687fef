#include "store/item_names.hpp"

#include <algorithm>

#include "base/ascii.hpp"

namespace stockwatch {

namespace {
void sort_unique(std::vector<std::string>& names) {
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
}
}  // namespace

void ItemNames::reset(std::vector<std::string> names, std::int64_t position) {
  names_ = std::move(names);
  sort_unique(names_);
  position_ = position;
  filled_ = true;
}

void ItemNames::add(std::vector<std::string> names, std::int64_t position) {
  if (!names.empty()) {
    const auto old = static_cast<std::ptrdiff_t>(names_.size());
    names_.insert(names_.end(), std::make_move_iterator(names.begin()),
                  std::make_move_iterator(names.end()));
    std::sort(names_.begin() + old, names_.end());
    std::inplace_merge(names_.begin(), names_.begin() + old, names_.end());
    names_.erase(std::unique(names_.begin(), names_.end()), names_.end());
  }
  position_ = std::max(position_, position);
}

std::vector<std::string> ItemNames::holding(std::string_view words) const {
  const std::string needle = ascii_lower(words);
  std::vector<std::string> out;
  std::string folded;
  for (const auto& name : names_) {
    folded.assign(name);
    ascii_lower_in_place(folded);
    if (folded.find(needle) != std::string::npos) out.push_back(name);
  }
  return out;
}

}  // namespace stockwatch
