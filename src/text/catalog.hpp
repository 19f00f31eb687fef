// Texts for people, one catalog per language, filled from codes and data at
// the edge (an email, a rejected report's .error.txt, the log, the API).
//
// Contract:
// - A catalog maps keys ("alert.out_of_stock.sentence", "problem.empty_report")
//   to templates with named placeholders ("{store} is out of stock of
//   {item}"). A new language is a new table in catalog.cpp, not new code:
//   a key it lacks falls back to English.
// - Plural forms: a key may have variants "<key>#one" and "<key>#other";
//   text(key, n) picks the catalog's form for n and falls back to the plain
//   key. English: "one" for 1, "other" for the rest.
// - Values are inserted as given; a caller that puts report data into a
//   header or a body neutralises it first (notify/message.hpp).
// - Immutable tables: safe from any thread.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stockwatch {

struct CatalogEntry {
  std::string_view key;
  std::string_view text;
};

// Placeholder name -> value.
using TextArg = std::pair<std::string_view, std::string_view>;

class Catalog {
 public:
  constexpr Catalog(std::string_view language, std::span<const CatalogEntry> entries,
                    bool (*is_one)(std::int64_t))
      : language_(language), entries_(entries), is_one_(is_one) {}

  [[nodiscard]] std::string_view language() const { return language_; }
  // The template for `key`; English's when this catalog lacks it; the key
  // itself when no catalog has it.
  [[nodiscard]] std::string_view text(std::string_view key) const;
  // The plural form of `key` for `n`.
  [[nodiscard]] std::string_view text(std::string_view key, std::int64_t n) const;
  // Whether this catalog itself (not English) has `key`.
  [[nodiscard]] bool has(std::string_view key) const;

  // text(key) with its placeholders filled.
  [[nodiscard]] std::string format(std::string_view key, std::initializer_list<TextArg> args) const;

 private:
  [[nodiscard]] const std::string_view* find(std::string_view key) const;
  std::string_view language_;
  std::span<const CatalogEntry> entries_;
  bool (*is_one_)(std::int64_t);
};

// The catalog of `language` ("en"); English for a language without one.
[[nodiscard]] const Catalog& catalog_for(std::string_view language);
[[nodiscard]] const Catalog& english();

// Fills "{name}" placeholders of `tmpl` from `args`; an unknown
// placeholder is kept as it is.
[[nodiscard]] std::string fill_template(std::string_view tmpl, std::span<const TextArg> args);

}  // namespace stockwatch
