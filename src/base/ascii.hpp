// ASCII case folding for text compared without case where only the ASCII
// letters are meant to fold (store and item names, whose other letters the
// two storage backends would fold differently).
//
// Contract: pure functions; any thread; never throws but std::bad_alloc.
#pragma once

#include <string>
#include <string_view>

namespace stockwatch {

// `c` turned into 'a'..'z' when it is 'A'..'Z'; any other byte as it is.
inline char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// `s` folded in place, as ascii_lower(char) folds each byte (for a buffer
// that is reused across many names).
inline void ascii_lower_in_place(std::string& s) {
  for (char& c : s) c = ascii_lower(c);
}

// `s` with 'A'..'Z' turned into 'a'..'z'; every other byte as it is.
inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  ascii_lower_in_place(out);
  return out;
}

// Whether `name` holds `needle` (already folded by ascii_lower), the ASCII
// letters of `name` folded as they are compared: no copy of the name.
inline bool ascii_holds(std::string_view name, std::string_view needle) {
  if (needle.empty()) return true;
  if (needle.size() > name.size()) return false;
  const std::size_t last = name.size() - needle.size();
  for (std::size_t i = 0; i <= last; ++i) {
    if (ascii_lower(name[i]) != needle[0]) continue;
    std::size_t k = 1;
    while (k < needle.size() && ascii_lower(name[i + k]) == needle[k]) ++k;
    if (k == needle.size()) return true;
  }
  return false;
}

}  // namespace stockwatch
