#include "stockwatch/file_ops.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "stockwatch/unique_fd.hpp"

namespace stockwatch {

Result<bool> place_without_replacing(const std::filesystem::path& from,
                                     const std::filesystem::path& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return true;
  const int err = errno;
  if (err == EEXIST) return false;
  if (err != EINVAL && err != ENOSYS) return errno_error("cannot rename to " + to.string(), err);
  // A filesystem without RENAME_NOREPLACE: link() never replaces either.
  if (::link(from.c_str(), to.c_str()) != 0) {
    if (errno == EEXIST) return false;
    return errno_error("cannot link to " + to.string());
  }
  ::unlink(from.c_str());
  return true;
}

Status sync_directory(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errno_error("cannot open " + dir.string());
  if (::fsync(fd.get()) != 0) return errno_error("cannot sync " + dir.string());
  return {};
}

}  // namespace stockwatch
