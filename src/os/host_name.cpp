#include "os/host_name.hpp"

#include <unistd.h>

#include <array>

namespace stockwatch {

std::string host_name() {
  std::array<char, 256> buf{};
  if (::gethostname(buf.data(), buf.size() - 1) != 0 || buf[0] == '\0') return "localhost";
  return std::string(buf.data());
}

}  // namespace stockwatch
