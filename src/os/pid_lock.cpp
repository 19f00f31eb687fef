#include "os/pid_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace stockwatch {

namespace {

// The pid the file names, or 0.
long read_pid(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return 0;
  char* end = nullptr;
  const long pid = std::strtol(buf, &end, 10);
  return pid > 0 ? pid : 0;
}

}  // namespace

Result<PidLock> PidLock::try_acquire(const std::filesystem::path& path, const std::string& what) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) return errno_error("cannot open the lock file " + path.string(), errno);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err != EWOULDBLOCK) return errno_error("cannot lock " + path.string(), err);
    std::string msg = "another stockwatch is already running on " + what;
    if (const long pid = read_pid(fd.get()); pid > 0) msg += " (pid " + std::to_string(pid) + ")";
    msg += "; stop it first (the lock is " + path.string() + ")";
    return Error(ErrorCode::kBusy, std::move(msg));
  }
  // The holder's pid, for the next one to name. Failing to write it only
  // makes that message less precise.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) == 0) {
    (void)!::pwrite(fd.get(), pid.data(), pid.size(), 0);
  }
  return PidLock(std::move(fd), path);
}

}  // namespace stockwatch
