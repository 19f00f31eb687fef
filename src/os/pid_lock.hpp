// An exclusive, advisory lock on a file that names its holder: flock(2) on
// `path` (created if needed), with the holder's pid written into the file.
//
// Contract:
// - try_acquire() never waits: kBusy when another open file description
//   (another process, or another PidLock in this one) holds the lock; its
//   message names the holder's pid when the file tells it. A file that
//   cannot be created is an errno error (kNotFound, kPermission, kIo).
// - The lock lasts while the PidLock lives, and ends with its process: a
//   process that dies never leaves a stale lock (the file may stay, with an
//   old pid in it, and is taken over by the next holder).
// - Move-only; not thread-safe.
#pragma once

#include <filesystem>
#include <string>

#include "base/result.hpp"
#include "os/unique_fd.hpp"

namespace stockwatch {

class PidLock {
 public:
  // `what` names the thing locked, for the message ("database /x.db").
  [[nodiscard]] static Result<PidLock> try_acquire(const std::filesystem::path& path,
                                                   const std::string& what);
  PidLock(PidLock&&) noexcept = default;
  PidLock& operator=(PidLock&&) noexcept = default;
  PidLock(const PidLock&) = delete;
  PidLock& operator=(const PidLock&) = delete;
  ~PidLock() = default;  // closing the descriptor releases the lock

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  PidLock(UniqueFd fd, std::filesystem::path path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::filesystem::path path_;
};

}  // namespace stockwatch
