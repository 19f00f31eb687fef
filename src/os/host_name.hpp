// This machine's host name (gethostname), or "localhost" when it has none.
#pragma once

#include <string>

namespace stockwatch {

[[nodiscard]] std::string host_name();

}  // namespace stockwatch
