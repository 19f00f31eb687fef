#include "pipeline/archive.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <system_error>

#include "os/beneath.hpp"
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

// The report's entry in the inbox: its folder, opened beneath the inbox
// without following a symbolic link at any step, and its name in it. Every
// look at the entry goes through `dir` (fstatat, linkat, openat, readlinkat,
// renameat2, unlinkat), so a folder swapped for a link meanwhile cannot send
// the archive outside the inbox.
struct Entry {
  UniqueFd dir;          // -1 when the folder is gone (archived from read_fd)
  std::string name;
  std::string shown;     // the relative path, for messages
};

// The inbox root: options.inbox, or what `file` is when `relative` is
// taken off its end.
fs::path inbox_root(const ArchiveOptions& options, const fs::path& file, const fs::path& relative) {
  if (!options.inbox.empty()) return options.inbox;
  fs::path root = file;
  for (auto it = relative.begin(); it != relative.end(); ++it) root = root.parent_path();
  return root;
}

Result<Entry> open_entry(const fs::path& root, const fs::path& relative, bool have_read_fd) {
  Entry e;
  e.name = relative.filename().string();
  e.shown = relative.generic_string();
  auto root_fd = open_root(root);
  if (!root_fd) return root_fd.error();
  auto dir = open_dir_beneath(root_fd->get(), relative.parent_path().generic_string(), false);
  if (!dir) {
    // Its folder is gone: what was read can still be archived; there is no
    // name left to remove.
    if (dir.error().code() == ErrorCode::kNotFound && have_read_fd) return e;
    if (dir.error().code() == ErrorCode::kInvalidInput) {
      return Error(ErrorCode::kInvalidInput,
                   "its folder is no longer beneath the inbox (" + dir.error().message() +
                       "); nothing was moved or removed");
    }
    return dir.error();
  }
  e.dir = std::move(*dir);
  return e;
}

// Places the report at the first free candidate name under `dest`: the
// open file `read_fd` when given, else the entry itself (a symbolic link as
// the link). link() fails with EEXIST instead of replacing, which is what
// makes this never overwrite. With `error_file`, a name whose `.error.txt`
// is taken by another report is skipped too, so an old error file is never
// overwritten. `src` receives what was placed (for remove_from_inbox).
Result<fs::path> place(const Entry& entry, int read_fd, const fs::path& dest, bool error_file,
                       struct stat& src) {
  std::error_code ec;
  fs::create_directories(dest.parent_path(), ec);
  if (ec) return Error(ErrorCode::kIo, "cannot create " + dest.parent_path().string() + ": " + ec.message());
  if (read_fd >= 0 ? ::fstat(read_fd, &src) != 0
                   : ::fstatat(entry.dir.get(), entry.name.c_str(), &src, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno_error("cannot stat " + entry.shown);
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
    const int linked = read_fd >= 0
                           ? link_open_file(read_fd, target)
                           : ::linkat(entry.dir.get(), entry.name.c_str(), AT_FDCWD, target.c_str(), 0);
    if (linked == 0) return target;
    if (errno == EEXIST) continue;
    const bool gone = read_fd >= 0 && errno == ENOENT && ::access(target.parent_path().c_str(), F_OK) == 0;
    if (gone || errno == EXDEV || errno == EPERM || errno == EMLINK) {
      if (copy_from < 0 && S_ISLNK(src.st_mode)) {
        // A link rejected unread is kept as a link, never as what it names.
        char text[4096];
        const ssize_t len = ::readlinkat(entry.dir.get(), entry.name.c_str(), text, sizeof text - 1);
        if (len > 0) {
          text[len] = '\0';
          if (::symlink(text, target.c_str()) == 0) return target;
          if (errno == EEXIST) continue;
        }
        return errno_error("cannot archive " + entry.shown + " as " + target.string());
      }
      if (copy_from < 0) {
        own.reset(::openat(entry.dir.get(), entry.name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
        if (!own) return errno_error("cannot open " + entry.shown);
        copy_from = own.get();
      }
      auto st = copy_new(copy_from, target);
      if (st.ok()) return target;
      if (::access(target.c_str(), F_OK) == 0 && st.code() != ErrorCode::kIo) continue;
      return st.error();
    }
    return errno_error("cannot archive " + entry.shown + " as " + target.string());
  }
  return Error(ErrorCode::kIo, "no free archive name for " + dest.string());
}

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// Removes the report's name from the inbox, unless it now names another
// file than `handled` (a new report under the same name), or, with
// `link_ok`, a symbolic link (one the loader followed to what it read).
// The name is first renamed to a private hidden name in the same folder,
// so the file checked is the file removed: a report renamed onto the name
// after the check is never deleted unread; another file found there is
// renamed back for the next scan.
Status remove_from_inbox(const Entry& entry, const struct stat& handled, bool link_ok) {
  if (!entry.dir) return {};  // its folder is gone: nothing left to remove
  const int dir = entry.dir.get();
  auto is_handled = [&](const char* name, bool& ok) -> Status {
    struct stat now {};
    if (::fstatat(dir, name, &now, AT_SYMLINK_NOFOLLOW) != 0) {
      return errno_error("cannot stat " + entry.shown);
    }
    ok = same_file(now, handled) || (link_ok && S_ISLNK(now.st_mode));
    return {};
  };
  static std::atomic<unsigned> counter{0};
  const std::string holding = ".stockwatch-archiving." + std::to_string(::getpid()) + "." +
                              std::to_string(counter.fetch_add(1));
  const char* name = entry.name.c_str();
  if (::renameat2(dir, name, dir, holding.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno == ENOENT) return {};
    if (errno != EINVAL && errno != ENOSYS) return errno_error("cannot remove " + entry.shown + " from the inbox");
    // A filesystem without RENAME_NOREPLACE: check, then remove.
    bool ok = false;
    if (auto st = is_handled(name, ok); !st.ok()) return st.code() == ErrorCode::kNotFound ? Status{} : st;
    if (ok && ::unlinkat(dir, name, 0) != 0 && errno != ENOENT) {
      return errno_error("archived " + entry.shown + " but cannot remove it from the inbox");
    }
    return {};
  }
  bool ok = false;
  if (auto st = is_handled(holding.c_str(), ok); !st.ok()) return st;
  if (ok) {
    if (::unlinkat(dir, holding.c_str(), 0) != 0) {
      return errno_error("archived " + entry.shown + " but cannot remove it from the inbox");
    }
    return {};
  }
  if (::renameat2(dir, holding.c_str(), dir, name, RENAME_NOREPLACE) != 0) {
    return errno_error("a new report under the name " + entry.shown + " was set aside as " +
                       holding + " and cannot be put back");
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

struct ArchivedCopy::State {
  Entry entry;
  struct stat handled {};
  fs::path where;
  bool link_ok = false;
};

ArchivedCopy::ArchivedCopy(std::unique_ptr<State> state) : state_(std::move(state)) {}
ArchivedCopy::ArchivedCopy(ArchivedCopy&&) noexcept = default;
ArchivedCopy& ArchivedCopy::operator=(ArchivedCopy&&) noexcept = default;
ArchivedCopy::~ArchivedCopy() = default;

const fs::path& ArchivedCopy::where() const {
  static const fs::path none;
  return state_ ? state_->where : none;
}

Status ArchivedCopy::leave_inbox() {
  if (!state_) return {};
  // No directory fsync here: if a crash loses the move, the report is back
  // in the inbox and the loader recognises it from the ledger as handled.
  auto st = remove_from_inbox(state_->entry, state_->handled, state_->link_ok);
  state_.reset();
  return st;
}

Result<ArchivedCopy> place_report(const ArchiveOptions& options, const fs::path& file,
                                  const fs::path& relative, bool rejected,
                                  const std::string& error_text, int read_fd) {
  auto entry = open_entry(inbox_root(options, file, relative), relative, read_fd >= 0);
  if (!entry) return entry.error();
  auto state = std::make_unique<ArchivedCopy::State>();
  state->entry = std::move(*entry);
  state->link_ok = read_fd >= 0;
  const Entry& e = state->entry;
  const fs::path root = rejected ? options.failed : options.processed;
  struct stat& handled = state->handled;
  if (options.delete_reports) {
    if (read_fd >= 0 ? ::fstat(read_fd, &handled) != 0
                     : ::fstatat(e.dir.get(), e.name.c_str(), &handled, AT_SYMLINK_NOFOLLOW) != 0) {
      return errno_error("cannot stat " + e.shown);
    }
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
    auto where = place(e, read_fd, root / relative, rejected, handled);
    if (!where) return where.error();
    state->where = *where;
    if (rejected) {
      fs::path err = state->where;
      err += ".error.txt";
      if (auto st = write_error_file(err, error_text); !st.ok()) return st.error();
    }
  }
  return ArchivedCopy(std::move(state));
}

Result<fs::path> archive_report(const ArchiveOptions& options, const fs::path& file,
                                const fs::path& relative, bool rejected,
                                const std::string& error_text, int read_fd,
                                const std::function<void(const fs::path& placed)>& on_placed) {
  auto placed = place_report(options, file, relative, rejected, error_text, read_fd);
  if (!placed) return placed.error();
  fs::path where = placed->where();
  if (on_placed && !where.empty()) on_placed(where);
  if (auto st = placed->leave_inbox(); !st.ok()) return st.error();
  return where;
}

}  // namespace stockwatch
