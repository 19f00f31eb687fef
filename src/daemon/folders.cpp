#include "daemon/folders.hpp"

#include <stdexcept>
#include <string>
#include <system_error>

namespace stockwatch {

void ensure_dir(const std::filesystem::path& dir, const char* key) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error(std::string(key) + ": cannot create " + dir.string() + ": " + ec.message());
}

void ensure_database_dir(const StorageConfig& storage) {
  if (storage.backend == "sqlite" && storage.database.has_parent_path()) {
    ensure_dir(storage.database.parent_path(), "storage.database");
  }
}

}  // namespace stockwatch
