// Folders the commands create at start-up (the database's folder, the
// archive folders).
//
// Contract: ensure_dir() creates `dir` and its parents when missing and
// throws std::runtime_error naming the config key `key` when it cannot
// (start-up only). Any thread.
#pragma once

#include <filesystem>

namespace stockwatch {

void ensure_dir(const std::filesystem::path& dir, const char* key);

}  // namespace stockwatch
