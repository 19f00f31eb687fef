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

std::string format_amount(double value, const Catalog& catalog) {
  if (!(value >= 0)) value = 0;  // NaN and negatives: nothing used
  if (value >= 10) return format_number(static_cast<std::int64_t>(value + 0.5), catalog);
  const auto tenths = static_cast<std::int64_t>(value * 10 + 0.5);
  if (tenths >= 100) return format_number(10, catalog);
  const std::string_view mark = catalog.text("number.group") == "." ? "," : ".";
  return std::to_string(tenths / 10) + std::string(mark) + std::to_string(tenths % 10);
}

}  // namespace stockwatch
