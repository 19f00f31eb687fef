#include "base/guard.hpp"

namespace stockwatch {

void log_handler_exception(const char* what) noexcept {
  try {
    throw;
  } catch (const std::exception& e) {
    spdlog::error("{}: unexpected error, carrying on: {}", what, e.what());
  } catch (...) {
    spdlog::error("{}: unexpected error of unknown type, carrying on", what);
  }
}

}  // namespace stockwatch
