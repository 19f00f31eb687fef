// Stable names of enum values (stored in the database, written in
// configuration files): one table per enum, looked up both ways.
//
// Contract: the table is a constexpr array of {value, name}; a value
// missing from it has the name `fallback`, a name missing from it no value.
// Pure functions, safe from any thread.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace stockwatch {

template <typename E>
struct Named {
  E value;
  std::string_view name;
};

template <typename E>
[[nodiscard]] constexpr std::string_view name_in(std::span<const Named<E>> table, E value,
                                                 std::string_view fallback = "?") {
  for (const auto& n : table) {
    if (n.value == value) return n.name;
  }
  return fallback;
}

template <typename E>
[[nodiscard]] constexpr std::optional<E> value_in(std::span<const Named<E>> table,
                                                  std::string_view name) {
  for (const auto& n : table) {
    if (n.name == name) return n.value;
  }
  return std::nullopt;
}

}  // namespace stockwatch
