#include "text/masked_url.hpp"

namespace stockwatch {

std::string mask_url_path(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return "***";
  const std::size_t host_start = scheme_end + 3;
  std::size_t authority_end = url.find_first_of("/?#", host_start);
  if (authority_end == std::string_view::npos) authority_end = url.size();
  std::string_view authority = url.substr(host_start, authority_end - host_start);
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  std::string out(url.substr(0, host_start));
  out += authority;
  const std::string_view rest = url.substr(authority_end);
  if (!rest.empty() && rest != "/") out += "/...";
  return out;
}

std::string mask_secret(std::string_view text, std::string_view secret) {
  if (secret.empty()) return std::string(text);
  std::string out;
  std::size_t pos = 0;
  while (true) {
    const std::size_t at = text.find(secret, pos);
    if (at == std::string_view::npos) break;
    out.append(text.substr(pos, at - pos));
    out += "***";
    pos = at + secret.size();
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace stockwatch
