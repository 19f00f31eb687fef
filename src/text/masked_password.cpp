#include "text/masked_password.hpp"

namespace stockwatch {

namespace {

bool is_url(std::string_view s) {
  return s.starts_with("postgresql://") || s.starts_with("postgres://");
}

// Masks the value after each "password=" found at a parameter's start: for
// a URL's query the value ends at '&' or '#'; for the keyword form at a
// space, or at the closing quote when quoted.
std::string mask_parameters(std::string s, bool url) {
  const std::string_view key = "password=";
  std::size_t from = 0;
  while (true) {
    const std::size_t at = s.find(key, from);
    if (at == std::string::npos) return s;
    const char before = at == 0 ? ' ' : s[at - 1];
    const bool starts = url ? (before == '?' || before == '&') : (before == ' ' || at == 0);
    const std::size_t value = at + key.size();
    if (!starts) {
      from = value;
      continue;
    }
    std::size_t end = value;
    if (url) {
      end = s.find_first_of("&#", value);
    } else if (value < s.size() && s[value] == '\'') {
      end = value + 1;
      while (end < s.size() && s[end] != '\'') end += s[end] == '\\' ? 2 : 1;
      end = end < s.size() ? end + 1 : s.size();
    } else {
      end = s.find(' ', value);
    }
    if (end == std::string::npos) end = s.size();
    s.replace(value, end - value, "***");
    from = value + 3;
  }
}

}  // namespace

std::string mask_password(std::string_view conninfo) {
  std::string s(conninfo);
  if (!is_url(s)) return mask_parameters(std::move(s), false);
  // postgresql://[user[:password]@]host...: the user info ends at the last
  // '@' before the path.
  const std::size_t start = s.find("://") + 3;
  const std::size_t path = s.find_first_of("/?#", start);
  const std::size_t auth_end = s.rfind('@', path == std::string::npos ? s.size() : path);
  if (auth_end != std::string::npos && auth_end >= start) {
    const std::size_t colon = s.find(':', start);
    if (colon != std::string::npos && colon < auth_end) {
      s.replace(colon + 1, auth_end - colon - 1, "***");
    }
  }
  return mask_parameters(std::move(s), true);
}

}  // namespace stockwatch
