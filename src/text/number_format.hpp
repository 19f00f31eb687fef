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

}  // namespace stockwatch
