// Numbers as a reader of a language writes them: 1,234 in English, 1.234 in
// Indonesian (the catalog's "number.group" separator every three digits).
//
// Contract: pure function, safe from any thread.
#pragma once

#include <cstdint>
#include <string>

#include "text/catalog.hpp"

namespace stockwatch {

[[nodiscard]] std::string format_number(std::int64_t n, const Catalog& catalog);

// A non-negative amount with one decimal below 10 and none from 10 up, as a
// use rate is read: "2.5" and "1,234" in English, "2,5" and "1.234" in
// Indonesian (the decimal mark is "," wherever the group separator is ".").
[[nodiscard]] std::string format_amount(double value, const Catalog& catalog);

}  // namespace stockwatch
