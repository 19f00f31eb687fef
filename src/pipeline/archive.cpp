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

// Copies src to a new file dst (O_EXCL), for moves across filesystems.
Status copy_new(const fs::path& src, const fs::path& dst) {
  UniqueFd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) return errno_error("cannot open " + src.string());
  UniqueFd out(::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640));
  if (!out) return errno_error("cannot create " + dst.string());
  Status written;
  const Status read = read_chunks(in.get(), 1 << 16, src.string(), [&](std::string_view chunk) {
    written = write_all(out.get(), chunk, dst.string());
    return written.ok();
  });
  if (!read.ok() || !written.ok()) {
    ::unlink(dst.c_str());  // no half copy stays in the archive
    return read.ok() ? written : read;
  }
  if (::fsync(out.get()) != 0) {
    const int err = errno;
    ::unlink(dst.c_str());
    return errno_error("cannot sync " + dst.string(), err);
  }
  return {};
}

// Places `file` at the first free candidate name under `dest`. link() fails
// with EEXIST instead of replacing, which is what makes this never overwrite.
// With `error_file`, a name whose `.error.txt` is taken by another report
// is skipped too, so an old error file is never overwritten.
Result<fs::path> place(const fs::path& file, const fs::path& dest, bool error_file) {
  std::error_code ec;
  fs::create_directories(dest.parent_path(), ec);
  if (ec) return Error(ErrorCode::kIo, "cannot create " + dest.parent_path().string() + ": " + ec.message());
  struct stat src {};
  // lstat: a symbolic link is archived as the link itself.
  if (::lstat(file.c_str(), &src) != 0) return errno_error("cannot stat " + file.string());
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
    if (::link(file.c_str(), target.c_str()) == 0) return target;
    if (errno == EEXIST) continue;
    if (errno == EXDEV || errno == EPERM || errno == EMLINK) {
      auto st = copy_new(file, target);
      if (st.ok()) return target;
      if (::access(target.c_str(), F_OK) == 0 && st.code() != ErrorCode::kIo) continue;
      return st.error();
    }
    return errno_error("cannot archive " + file.string() + " as " + target.string());
  }
  return Error(ErrorCode::kIo, "no free archive name for " + dest.string());
}

Status write_error_file(const fs::path& path, const std::string& text) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
  if (!fd) return errno_error("cannot create " + path.string());
  std::string body = text;
  if (body.empty() || body.back() != '\n') body += '\n';
  if (auto st = write_all(fd.get(), body, path.string()); !st.ok()) return st;
  if (::fsync(fd.get()) != 0) return errno_error("cannot sync " + path.string());
  return {};
}

}  // namespace

Result<fs::path> archive_report(const ArchiveOptions& options, const fs::path& file,
                                const fs::path& relative, bool rejected,
                                const std::string& error_text) {
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
    auto where = place(file, root / relative, rejected);
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
  if (::unlink(file.c_str()) != 0 && errno != ENOENT) {
    return errno_error("archived " + file.string() + " but cannot remove it from the inbox");
  }
  return placed;
}

}  // namespace stockwatch
