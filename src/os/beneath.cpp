#include "os/beneath.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <vector>

namespace stockwatch {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> split(const std::string& relative) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= relative.size()) {
    const auto slash = relative.find('/', start);
    const auto end = slash == std::string::npos ? relative.size() : slash;
    if (end > start) out.push_back(relative.substr(start, end - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return out;
}

Error outside(const std::string& relative) {
  return Error(ErrorCode::kInvalidInput, relative + " leads outside the folder");
}

Error link_refused(const std::string& name) {
  return Error(ErrorCode::kInvalidInput,
               name + " is a symbolic link; links are not followed here");
}

// openat2 with RESOLVE_BENEATH: -1 with errno on failure (ENOSYS where the
// kernel lacks it).
int openat2_beneath(int root_fd, const std::string& relative, int flags) {
  struct open_how how {};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, root_fd, relative.c_str(), &how, sizeof how));
}

// The text of the symbolic link `relative` (beneath the root), or "" when
// it is not a link.
std::string link_text(int root_fd, const std::string& relative) {
  const auto slash = relative.rfind('/');
  const std::string parent = slash == std::string::npos ? "." : relative.substr(0, slash);
  const std::string name = slash == std::string::npos ? relative : relative.substr(slash + 1);
  UniqueFd dir(openat2_beneath(root_fd, parent, O_PATH | O_DIRECTORY));
  if (!dir) return {};
  char buf[4096];
  const ssize_t n = ::readlinkat(dir.get(), name.c_str(), buf, sizeof buf);
  if (n <= 0 || static_cast<std::size_t>(n) >= sizeof buf) return {};
  return std::string(buf, static_cast<std::size_t>(n));
}

// `target` (absolute) as a path relative to `root`, if it lies under it.
std::optional<std::string> under_root(const fs::path& root, const std::string& target) {
  for (const fs::path& r : {root, fs::weakly_canonical(root)}) {
    const fs::path rel = fs::path(target).lexically_normal().lexically_relative(r);
    if (!rel.empty() && *rel.begin() != ".." && rel != ".") return rel.generic_string();
  }
  return std::nullopt;
}

// Without openat2: walk the folders without following links, then open the
// last name without following a link either.
Result<UniqueFd> open_without_links(int root_fd, const std::string& relative, int flags) {
  const auto slash = relative.rfind('/');
  const std::string parent = slash == std::string::npos ? "" : relative.substr(0, slash);
  const std::string name = slash == std::string::npos ? relative : relative.substr(slash + 1);
  auto dir = open_dir_beneath(root_fd, parent, false);
  if (!dir) return dir.error();
  UniqueFd fd(::openat(dir->get(), name.c_str(), flags | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    if (errno == ELOOP) return link_refused(relative);
    return errno_error("cannot open " + relative);
  }
  return fd;
}

}  // namespace

Result<UniqueFd> open_root(const fs::path& root) {
  UniqueFd fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errno_error("cannot open the folder " + root.string());
  return fd;
}

Result<UniqueFd> open_beneath(int root_fd, const fs::path& root_path, const std::string& relative,
                              int flags) {
  std::string path = relative;
  for (int hops = 0; hops < 8; ++hops) {
    UniqueFd fd(openat2_beneath(root_fd, path, flags));
    if (fd) return fd;
    const int err = errno;
    if (err == ENOSYS) return open_without_links(root_fd, relative, flags);
    if (err != EXDEV) {
      if (err == ELOOP) return outside(relative);
      return errno_error("cannot open " + relative, err);
    }
    // Leaves the root, unless the name is a link with an absolute target
    // under the root: follow that as a path relative to the root.
    const std::string target = link_text(root_fd, path);
    if (target.empty() || target.front() != '/') return outside(relative);
    auto inside = under_root(root_path, target);
    if (!inside) return outside(relative);
    path = *inside;
  }
  return outside(relative);
}

Result<UniqueFd> open_dir_beneath(int root_fd, const std::string& relative, bool create) {
  UniqueFd dir(::openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return errno_error("cannot open the folder");
  std::string walked;
  for (const std::string& name : split(relative)) {
    walked += (walked.empty() ? "" : "/") + name;
    if (name == "." || name == "..") return outside(relative);
    const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    UniqueFd next(::openat(dir.get(), name.c_str(), flags));
    if (!next && errno == ENOENT && create) {
      if (::mkdirat(dir.get(), name.c_str(), 0750) != 0 && errno != EEXIST) {
        return errno_error("cannot create the folder " + walked);
      }
      // The new entry survives a power cut once its parent is synced.
      if (::fsync(dir.get()) != 0) return errno_error("cannot sync the folder of " + walked);
      next.reset(::openat(dir.get(), name.c_str(), flags));
    }
    if (!next) {
      const int err = errno;
      struct stat st {};
      if ((err == ELOOP || err == ENOTDIR) &&
          ::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
        return link_refused(walked);
      }
      if (err == ENOTDIR) return Error(ErrorCode::kInvalidInput, walked + " is not a folder");
      return errno_error("cannot open the folder " + walked, err);
    }
    dir = std::move(next);
  }
  return dir;
}

}  // namespace stockwatch
