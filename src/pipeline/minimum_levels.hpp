// Minimum levels: the lines of a levels file (store, item, minimum, with
// `*` for any store or any item) and the one lookup that says an item's
// minimum.
//
// Contract:
// - The most specific line wins: store and item, then item (store `*`),
//   then store (item `*`), then `*,*`, then the default ([alerts]
//   default_minimum; 0 = only a count of 0 alerts).
// - Built once per levels file (or per change of them) and then only read:
//   an immutable value, safe to share between threads (shared_ptr<const>).
// - minimum_of() looks up at most four hash tables; it allocates only when
//   there are lines for both stores and items.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace stockwatch {

// One line of a levels file. `store` or `item` is "*" for any.
struct LevelLine {
  std::string store;
  std::string item;
  std::int64_t minimum = 0;
  bool operator==(const LevelLine&) const = default;
};

inline constexpr std::string_view kAnyName = "*";

class MinimumLevels {
 public:
  MinimumLevels() = default;
  MinimumLevels(std::span<const LevelLine> lines, std::int64_t default_minimum);

  // The minimum level of `item` in `store`.
  [[nodiscard]] std::int64_t minimum_of(std::string_view store, std::string_view item) const;
  // True when every item's minimum is 0 (no lines above 0, default 0): the
  // rule is then the plain "a count reaches 0" one.
  [[nodiscard]] bool trivial() const { return trivial_; }
  [[nodiscard]] std::size_t size() const { return lines_; }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Table = std::unordered_map<std::string, std::int64_t, Hash, std::equal_to<>>;
  Table exact_;     // store + '\0' + item
  Table by_item_;   // `*`, item
  Table by_store_;  // store, `*`
  std::int64_t fallback_ = 0;  // `*,*` or the default
  std::size_t lines_ = 0;
  bool trivial_ = true;
};

}  // namespace stockwatch
