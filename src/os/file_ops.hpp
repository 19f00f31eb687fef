// File operations that must be all-or-nothing: placing a finished file
// under its final name without ever replacing another, and making a
// directory's entries durable.
//
// Contract: blocking system calls; callable from any thread; errno becomes
// an Error (kIo, kPermission) through errno_error(). Nothing throws.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace stockwatch {

// Renames `from` to `to` unless `to` exists (RENAME_NOREPLACE, or link()
// then unlink() where the filesystem lacks it). Returns true when placed,
// false when `to` was taken (then `from` is left as it was).
[[nodiscard]] Result<bool> place_without_replacing(const std::filesystem::path& from,
                                                   const std::filesystem::path& to);
// The same, with the target named by `name` inside the open folder `dir`
// (so no folder on the way can be swapped for a symbolic link meanwhile).
// Error messages name `name` only.
[[nodiscard]] Result<bool> place_without_replacing_at(const std::filesystem::path& from, int dir,
                                                      const std::string& name);

// fsync() of an open file or folder: "cannot sync <what>: <reason>".
[[nodiscard]] Status sync_fd(int fd, const std::string& what);

// fsync() of a directory, so entries created or renamed in it survive a
// power cut.
[[nodiscard]] Status sync_directory(const std::filesystem::path& dir);

// fsync() of a regular file by name (opened read-only for it), so its
// content is on disk before it is renamed into place.
[[nodiscard]] Status sync_file(const std::filesystem::path& file);

// Where read_chunks() starts: at the start of the file, with pread(), so
// the descriptor's file position is left alone (another thread may be
// reading it); or at the file position, with read(), which moves it on, so
// /proc/PID/fdinfo shows how far the reader has come.
enum class ReadFrom { kStart, kPosition };

// Hands the content of `fd` to `fn` in pieces of at most `chunk_bytes`,
// until the end of the file or until `fn` returns false. A read error is
// "cannot read <what>: <reason>".
[[nodiscard]] Status read_chunks(int fd, std::size_t chunk_bytes, const std::string& what,
                                 const std::function<bool(std::string_view)>& fn,
                                 ReadFrom from = ReadFrom::kStart);

// Writes all of `data` to `fd` (retrying short writes and EINTR). A failure
// is "cannot write <what>: <reason>"; a full disk or quota (ENOSPC, EDQUOT)
// is kTransient, which callers may answer with "try again later".
[[nodiscard]] Status write_all(int fd, std::string_view data, const std::string& what);

}  // namespace stockwatch
