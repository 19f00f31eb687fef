#include "text/number_format.hpp"

namespace stockwatch {

std::string format_number(std::int64_t n, const Catalog& catalog) {
  const std::string digits = std::to_string(n);
  const std::size_t sign = (!digits.empty() && digits[0] == '-') ? 1 : 0;
  const std::string_view group = catalog.text("number.group");
  std::string out = digits.substr(0, sign);
  const std::size_t len = digits.size() - sign;
  for (std::size_t i = 0; i < len; ++i) {
    if (i > 0 && (len - i) % 3 == 0) out += group;
    out += digits[sign + i];
  }
  return out;
}

}  // namespace stockwatch
