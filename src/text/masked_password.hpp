// A database connection string (PostgreSQL) as it may
// be shown (in logs and messages): with its password masked.
#pragma once

#include <string>
#include <string_view>

namespace stockwatch {

// `conninfo` (a postgresql:// URL or libpq's keyword=value form) with any
// password replaced by "***": the user-info password of a URL
// (postgresql://user:secret@host), a password= parameter of a URL's query,
// and a password=... keyword (quoted or not).
[[nodiscard]] std::string mask_password(std::string_view conninfo);

}  // namespace stockwatch
