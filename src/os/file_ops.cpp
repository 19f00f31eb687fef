#include "os/file_ops.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>

#include "os/unique_fd.hpp"

namespace stockwatch {

Result<bool> place_without_replacing_at(const std::filesystem::path& from, int dir,
                                        const std::string& name) {
  if (::renameat2(AT_FDCWD, from.c_str(), dir, name.c_str(), RENAME_NOREPLACE) == 0) return true;
  const int err = errno;
  if (err == EEXIST) return false;
  if (err != EINVAL && err != ENOSYS) return errno_error("cannot rename to " + name, err);
  // A filesystem without RENAME_NOREPLACE: link() never replaces either.
  if (::linkat(AT_FDCWD, from.c_str(), dir, name.c_str(), 0) != 0) {
    if (errno == EEXIST) return false;
    return errno_error("cannot link to " + name);
  }
  ::unlink(from.c_str());
  return true;
}

Result<bool> place_without_replacing(const std::filesystem::path& from,
                                     const std::filesystem::path& to) {
  return place_without_replacing_at(from, AT_FDCWD, to.string());
}

Status sync_fd(int fd, const std::string& what) {
  if (::fsync(fd) != 0) return errno_error("cannot sync " + what);
  return {};
}

namespace {
Status sync_opened(const std::filesystem::path& p, int flags) {
  UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC | flags));
  if (!fd) return errno_error("cannot open " + p.string());
  return sync_fd(fd.get(), p.string());
}
}  // namespace

Status sync_directory(const std::filesystem::path& dir) { return sync_opened(dir, O_DIRECTORY); }

Status sync_file(const std::filesystem::path& file) { return sync_opened(file, 0); }

Status read_chunks(int fd, std::size_t chunk_bytes, const std::string& what,
                   const std::function<bool(std::string_view)>& fn, ReadFrom from) {
  // Not zeroed: a small report reads a few hundred bytes into a buffer of
  // 256 KiB, and clearing it first cost more than the rest of the read.
  const std::size_t size = chunk_bytes > 0 ? chunk_bytes : 1;
  const auto buf = std::make_unique_for_overwrite<char[]>(size);
  off_t offset = 0;
  while (true) {
    const ssize_t n = from == ReadFrom::kStart ? ::pread(fd, buf.get(), size, offset)
                                               : ::read(fd, buf.get(), size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("cannot read " + what);
    }
    if (n == 0) return {};
    offset += n;
    if (!fn(std::string_view(buf.get(), static_cast<std::size_t>(n)))) return {};
  }
}

Status write_all(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      const int err = errno;
      if (err == EINTR) continue;
      if (err == ENOSPC || err == EDQUOT) {
        return Error(ErrorCode::kTransient, errno_error("cannot write " + what, err).message());
      }
      return errno_error("cannot write " + what, err);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

}  // namespace stockwatch
