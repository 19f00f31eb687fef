// File operations that must be all-or-nothing: placing a finished file
// under its final name without ever replacing another, and making a
// directory's entries durable.
//
// Contract: blocking system calls; callable from any thread; errno becomes
// an Error (kIo, kPermission) through errno_error(). Nothing throws.
#pragma once

#include <filesystem>

#include "stockwatch/result.hpp"

namespace stockwatch {

// Renames `from` to `to` unless `to` exists (RENAME_NOREPLACE, or link()
// then unlink() where the filesystem lacks it). Returns true when placed,
// false when `to` was taken (then `from` is left as it was).
[[nodiscard]] Result<bool> place_without_replacing(const std::filesystem::path& from,
                                                   const std::filesystem::path& to);

// fsync() of a directory, so entries created or renamed in it survive a
// power cut.
[[nodiscard]] Status sync_directory(const std::filesystem::path& dir);

}  // namespace stockwatch
