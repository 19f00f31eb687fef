#include "pipeline/archive.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "os/file_ops.hpp"
#include "os/unique_fd.hpp"

namespace stockwatch {

namespace fs = std::filesystem;

namespace {

// The n-th candidate name: "a/b.csv", "a/b.1.csv", "a/b.2.csv", ...
fs::path candidate(const fs::path& dest, int n) {
  if (n == 0) return dest;
  fs::path p = dest;
  const std::string ext = dest.extension().string();
  p.replace_filename(dest.stem().string() + "." + std::to_string(n) + ext);
  return p;
}

// Copies the open file `in` (from its start) to a new file dst (O_EXCL), for
// moves across filesystems and for a report removed while it was read.
Status copy_new(int in, const fs::path& dst) {
  UniqueFd out(::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640));
  if (!out) return errno_error("cannot create " + dst.string());
  Status written;
  const Status read = read_chunks(in, 1 << 16, "the report", [&](std::string_view chunk) {
    written = write_all(out.get(), chunk, dst.string());
    return written.ok();
  });
  if (!read.ok() || !written.ok()) {
    ::unlink(dst.c_str());  // no half copy stays in the archive
    return read.ok() ? written : read;
  }
  if (auto st = sync_fd(out.get(), dst.string()); !st.ok()) {
    ::unlink(dst.c_str());
    return st;
  }
  return {};
}

// A hard link to the open file `fd` (AT_EMPTY_PATH needs a capability; the
// /proc path does not). Fails with ENOENT when the file has no name left.
int link_open_file(int fd, const fs::path& target) {
  const std::string proc = "/proc/self/fd/" + std::to_string(fd);
  return ::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, target.c_str(), AT_SYMLINK_FOLLOW);
}

// Places the report at the first free candidate name under `dest`: the
// open file `read_fd` when given, else the entry `file` itself (a symbolic
// link as the link). link() fails with EEXIST instead of replacing, which
// is what makes this never overwrite. With `error_file`, a name whose
// `.error.txt` is taken by another report is skipped too, so an old error
// file is never overwritten.
Result<fs::path> place(const fs::path& file, int read_fd, const fs::path& dest, bool error_file) {
  std::error_code ec;
  fs::create_directories(dest.parent_path(), ec);
  if (ec) return Error(ErrorCode::kIo, "cannot create " + dest.parent_path().string() + ": " + ec.message());
  struct stat src {};
  if (read_fd >= 0 ? ::fstat(read_fd, &src) != 0 : ::lstat(file.c_str(), &src) != 0) {
    return errno_error("cannot stat " + file.string());
  }
  UniqueFd own;
  int copy_from = read_fd;
  for (int n = 0; n < 100000; ++n) {
    const fs::path target = candidate(dest, n);
    // Placed already, by an attempt that stopped before removing the inbox
    // copy: the same file, not a name conflict.
    struct stat existing {};
    if (::lstat(target.c_str(), &existing) == 0) {
      if (existing.st_dev == src.st_dev && existing.st_ino == src.st_ino) return target;
      continue;
    }
    if (error_file) {
      fs::path err = target;
      err += ".error.txt";
      if (::access(err.c_str(), F_OK) == 0) continue;
    }
    const int linked = read_fd >= 0 ? link_open_file(read_fd, target)
                                    : ::link(file.c_str(), target.c_str());
    if (linked == 0) return target;
    if (errno == EEXIST) continue;
    const bool gone = read_fd >= 0 && errno == ENOENT && ::access(target.parent_path().c_str(), F_OK) == 0;
    if (gone || errno == EXDEV || errno == EPERM || errno == EMLINK) {
      if (copy_from < 0 && S_ISLNK(src.st_mode)) {
        // A link rejected unread is kept as a link, never as what it names.
        std::error_code lec;
        const fs::path text = fs::read_symlink(file, lec);
        if (!lec && ::symlink(text.c_str(), target.c_str()) == 0) return target;
        if (errno == EEXIST) continue;
        return errno_error("cannot archive " + file.string() + " as " + target.string());
      }
      if (copy_from < 0) {
        own.reset(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
        if (!own) return errno_error("cannot open " + file.string());
        copy_from = own.get();
      }
      auto st = copy_new(copy_from, target);
      if (st.ok()) return target;
      if (::access(target.c_str(), F_OK) == 0 && st.code() != ErrorCode::kIo) continue;
      return st.error();
    }
    return errno_error("cannot archive " + file.string() + " as " + target.string());
  }
  return Error(ErrorCode::kIo, "no free archive name for " + dest.string());
}

// Removes the report's name from the inbox, unless it now names another
// file than the one read (a new report under the same name).
Status remove_from_inbox(const fs::path& file, int read_fd) {
  if (read_fd >= 0) {
    struct stat now {};
    struct stat read {};
    if (::lstat(file.c_str(), &now) != 0) {
      if (errno == ENOENT) return {};
      return errno_error("cannot stat " + file.string());
    }
    if (::fstat(read_fd, &read) != 0) return errno_error("cannot stat " + file.string());
    const bool same = now.st_dev == read.st_dev && now.st_ino == read.st_ino;
    if (!same && !S_ISLNK(now.st_mode)) return {};
  }
  if (::unlink(file.c_str()) != 0 && errno != ENOENT) {
    return errno_error("archived " + file.string() + " but cannot remove it from the inbox");
  }
  return {};
}

Status write_error_file(const fs::path& path, const std::string& text) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
  if (!fd) return errno_error("cannot create " + path.string());
  std::string body = text;
  if (body.empty() || body.back() != '\n') body += '\n';
  if (auto st = write_all(fd.get(), body, path.string()); !st.ok()) return st;
  return sync_fd(fd.get(), path.string());
}

}  // namespace

Result<fs::path> archive_report(const ArchiveOptions& options, const fs::path& file,
                                const fs::path& relative, bool rejected,
                                const std::string& error_text, int read_fd) {
  const fs::path root = rejected ? options.failed : options.processed;
  fs::path placed;
  if (options.delete_reports) {
    if (rejected) {
      // Keep the reason even when the report itself is not kept.
      std::error_code ec;
      fs::create_directories((root / relative).parent_path(), ec);
      fs::path err = root / relative;
      err += ".error.txt";
      for (int n = 1; fs::exists(err, ec); ++n) {
        err = root / relative;
        err += "." + std::to_string(n) + ".error.txt";
      }
      if (auto st = write_error_file(err, error_text); !st.ok()) return st.error();
    }
  } else {
    auto where = place(file, read_fd, root / relative, rejected);
    if (!where) return where.error();
    placed = *where;
    if (rejected) {
      fs::path err = placed;
      err += ".error.txt";
      if (auto st = write_error_file(err, error_text); !st.ok()) return st.error();
    }
  }
  // No directory fsync here: if a crash loses the move, the report is back
  // in the inbox and the loader recognises it from the ledger as handled.
  if (auto st = remove_from_inbox(file, read_fd); !st.ok()) return st.error();
  return placed;
}

}  // namespace stockwatch
