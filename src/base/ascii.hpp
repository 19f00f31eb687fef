// ASCII case folding for text compared without case where only the ASCII
// letters are meant to fold (store and item names, whose other letters the
// two storage backends would fold differently).
//
// Contract: pure functions; any thread; never throws but std::bad_alloc.
#pragma once

#include <string>
#include <string_view>

namespace stockwatch {

// `s` with 'A'..'Z' turned into 'a'..'z'; every other byte as it is.
inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace stockwatch
