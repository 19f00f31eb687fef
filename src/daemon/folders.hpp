// Folders the commands create at start-up (the database's folder, the
// archive folders).
//
// Contract: ensure_dir() creates `dir` and its parents when missing and
// throws std::runtime_error naming the config key `key` when it cannot
// (start-up only). ensure_database_dir() does so for the SQLite database
// file's folder, and nothing for a server database. Any thread.
#pragma once

#include <filesystem>

#include "config/config.hpp"

namespace stockwatch {

void ensure_dir(const std::filesystem::path& dir, const char* key);
void ensure_database_dir(const StorageConfig& storage);

}  // namespace stockwatch
