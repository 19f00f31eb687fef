#include "inbox/inbox.hpp"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include <linux/magic.h>

#include "os/beneath.hpp"
#include "report/report_format.hpp"

namespace stockwatch {

namespace fs = std::filesystem;

namespace {

constexpr std::uint32_t kDirMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_MODIFY |
                                   IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

std::int64_t ns(const struct timespec& t) {
  return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

// Filesystems where inotify does not see writes made by other machines.
bool is_remote_fs(const fs::path& dir, std::string* name) {
  struct statfs sfs {};
  if (::statfs(dir.c_str(), &sfs) != 0) return false;
  switch (static_cast<unsigned long>(sfs.f_type)) {
    case NFS_SUPER_MAGIC: *name = "NFS"; return true;
    case SMB_SUPER_MAGIC: *name = "SMB"; return true;
    case 0xFF534D42UL: *name = "CIFS"; return true;
    case 0xFE534D42UL: *name = "SMB2"; return true;
    case 0x65735546UL: *name = "FUSE (sshfs or similar)"; return true;
    case CODA_SUPER_MAGIC: *name = "Coda"; return true;
    case 0x6B414653UL: *name = "AFS"; return true;
    case 0x01021997UL: *name = "9p"; return true;
    default: return false;
  }
}

// stat (or with !follow, lstat) of `relative` beneath `root`: its folders
// are walked without following a symbolic link, so a report whose folder
// became a link (to anywhere) counts as gone. Only the last name is
// followed with `follow`; the loader decides about a report that is a link.
bool stat_beneath(const fs::path& root, const std::string& relative, struct stat* st,
                  bool follow) {
  auto root_fd = open_root(root);
  if (!root_fd) return false;
  const fs::path rel(relative);
  auto dir = open_dir_beneath(root_fd->get(), rel.parent_path().generic_string(), false);
  if (!dir) return false;
  return ::fstatat(dir->get(), rel.filename().c_str(), st, follow ? 0 : AT_SYMLINK_NOFOLLOW) == 0;
}

}  // namespace

Writers writers_of(const fs::path& file) {
  // O_NOFOLLOW: a symbolic link is never opened here, so a link out of the
  // inbox makes nothing outside it open (the loader decides about links).
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW));
  if (!fd) return Writers::kUnknown;
  if (::fcntl(fd.get(), F_SETLEASE, F_RDLCK) != 0) {
    return errno == EAGAIN ? Writers::kSome : Writers::kUnknown;
  }
  (void)::fcntl(fd.get(), F_SETLEASE, F_UNLCK);
  return Writers::kNone;
}

namespace {
// FNV-1a, 64 bits: stable across builds and machines (std::hash is not).
std::uint64_t fnv1a(std::string_view s, std::uint64_t h = 14695981039346656037ULL) {
  for (const unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}
}  // namespace

void order_for_node(std::vector<InboxReport>& reports, std::string_view node) {
  const std::uint64_t seed = fnv1a(node);
  std::vector<std::pair<std::uint64_t, std::size_t>> keys;
  keys.reserve(reports.size());
  for (std::size_t i = 0; i < reports.size(); ++i) {
    // Separated from the node's name, so "ab" + "c" and "a" + "bc" differ.
    keys.emplace_back(fnv1a(reports[i].relative, fnv1a("\x1f", seed)), i);
  }
  std::sort(keys.begin(), keys.end());
  std::vector<InboxReport> ordered;
  ordered.reserve(reports.size());
  for (const auto& [key, i] : keys) ordered.push_back(std::move(reports[i]));
  reports = std::move(ordered);
}

bool is_report_name(const std::string& name) {
  if (name.empty() || name[0] == '.') return false;
  if (name.rfind("~$", 0) == 0) return false;  // office lock files: ~$report.xlsx
  // *.tmp, *.part, *.filepart, *.swp, *~ and LibreOffice's lock files
  // (.~lock.report.ods#) never end in a report's extension.
  return report_format(name).has_value();
}

Inbox::Inbox(InboxConfig config, const Clock& clock, WritersCheck writers)
    : config_(std::move(config)), clock_(clock), writers_(std::move(writers)) {}

std::string Inbox::relative_of(const fs::path& path) const {
  return path.lexically_relative(config_.path).generic_string();
}

Status Inbox::start() {
  std::error_code ec;
  if (!fs::is_directory(config_.path, ec)) {
    return Error(ErrorCode::kNotFound, "the inbox folder " + config_.path.string() +
                                           " does not exist or is not a folder; create it or fix "
                                           "inbox.path");
  }
  std::string fsname;
  const bool remote = is_remote_fs(config_.path, &fsname);
  stats_.polling = config_.mode == "poll" || (config_.mode == "auto" && remote);
  if (!stats_.polling) {
    inotify_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (!inotify_) return errno_error("cannot start watching the inbox (inotify_init1)");
    if (const int err = watch_dir(config_.path, nullptr)) {
      return errno_error("cannot watch the inbox " + config_.path.string(), err);
    }
  } else if (remote) {
    spdlog::warn("inbox {}: on a {} filesystem, where change notifications miss writes from "
                 "other machines; polling every {} ms instead",
                 config_.path.string(), fsname, config_.poll_interval_ms);
  } else {
    spdlog::info("inbox {}: polling every {} ms (inbox.mode = \"poll\")", config_.path.string(),
                 config_.poll_interval_ms);
  }
  const TimePoint now = clock_.now();
  rescan();
  if (!stats_.polling) {
    spdlog::info("inbox {}: watching {} folder(s) with inotify", config_.path.string(),
                 watches_.size());
  }
  next_rescan_ = now + std::chrono::seconds(config_.rescan_interval_s);
  next_poll_ = now + std::chrono::milliseconds(config_.poll_interval_ms);
  return {};
}

int Inbox::watch_dir(const fs::path& dir, std::set<int>* seen) {
  const int wd = ::inotify_add_watch(inotify_.get(), dir.c_str(), kDirMask);
  if (wd < 0) {
    const int err = errno;
    // A folder removed while being scanned is no news; any other failure is
    // logged once per folder, however many scans retry it.
    if (err != ENOENT && err != ENOTDIR && unwatchable_.insert(dir).second) {
      spdlog::error("inbox: {}", errno_error("cannot watch " + dir.string(), err).message());
    }
    return err;
  }
  if (unwatchable_.erase(dir)) spdlog::info("inbox: watching {} now", dir.string());
  // A folder that moved inside the inbox keeps its descriptor: the path is
  // updated here.
  watches_[wd] = dir;
  if (seen) seen->insert(wd);
  stats_.watched_dirs = watches_.size();
  return 0;
}

bool Inbox::root_watched() const {
  return std::any_of(watches_.begin(), watches_.end(),
                     [this](const auto& w) { return w.second == config_.path; });
}

void Inbox::scan_dir(const fs::path& dir, std::set<int>* seen) {
  // Watch first, then list: a file created in between is seen twice, never
  // missed.
  if (inotify_) (void)watch_dir(dir, seen);
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::error_code ec2;
    if (it->is_directory(ec2)) {
      if (!it->is_symlink(ec2)) scan_dir(it->path(), seen);
      continue;
    }
    if (is_report_name(name)) consider(it->path(), false);
  }
}

void Inbox::rescan() {
  ++stats_.scans;
  if (!inotify_) {
    scan_dir(config_.path, nullptr);
    return;
  }
  std::set<int> seen;
  scan_dir(config_.path, &seen);
  // Watches of folders no longer in the tree (moved out, renamed to a
  // hidden name, or removed with their IN_IGNORED still queued) go; their
  // IN_IGNORED then finds nothing.
  for (auto it = watches_.begin(); it != watches_.end();) {
    if (seen.count(it->first)) {
      ++it;
      continue;
    }
    (void)::inotify_rm_watch(inotify_.get(), it->first);
    it = watches_.erase(it);
  }
  stats_.watched_dirs = watches_.size();
}

void Inbox::consider(const fs::path& path, bool complete) {
  const std::string rel = relative_of(path);
  // A scan seeing a name being loaded is no news; a move or close is.
  if (note_in_flight(rel, complete ? Changed::kComplete : Changed::kNo)) return;
  if (auto p = parked_.find(rel); p != parked_.end()) {
    struct stat st {};
    if (!stat_beneath(config_.path, rel, &st, true)) {
      parked_.erase(p);  // gone
      stats_.parked = parked_.size();
      return;
    }
    if (ns(st.st_ctim) == p->second.ctime_ns && st.st_size == p->second.size) return;
    parked_.erase(p);  // changed since: try again
    stats_.parked = parked_.size();
    complete = false;
  }
  if (complete) {
    candidates_.erase(rel);
    ready_[rel] = true;  // another writer may still have it open
    return;
  }
  if (ready_.count(rel)) return;
  auto [it, inserted] = candidates_.try_emplace(rel);
  if (inserted) it->second.stable_since = clock_.now();
}

void Inbox::placed(const std::string& relative) {
  // Told again while it is loaded: the rename's own event tells whether a
  // new file came under the name.
  if (in_flight_.count(relative)) return;
  const fs::path full = config_.path / relative;
  struct stat st {};
  // Loaded and archived already (the events were quicker): nothing to do.
  if (!stat_beneath(config_.path, relative, &st, false) || !S_ISREG(st.st_mode)) return;
  if (!is_report_name(full.filename().string())) return;
  consider(full, true);
}

void Inbox::note_write(const fs::path& path) {
  const std::string rel = relative_of(path);
  // Remembered for done(); the loader notices the change itself.
  if (note_in_flight(rel, Changed::kWritten)) return;
  if (parked_.erase(rel)) stats_.parked = parked_.size();
  ready_.erase(rel);
  Candidate& c = candidates_[rel];
  c.writing = true;
  c.stable_since = clock_.now();
}

bool Inbox::note_in_flight(const std::string& relative, Changed change) {
  auto f = in_flight_.find(relative);
  if (f == in_flight_.end()) return false;
  if (change != Changed::kNo) f->second = change;
  return true;
}

void Inbox::handle_events() {
  if (!inotify_) return;
  alignas(struct inotify_event) char buf[64 * 1024];
  while (true) {
    const ssize_t n = ::read(inotify_.get(), buf, sizeof buf);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      break;  // EAGAIN: drained
    }
    for (char* p = buf; p < buf + n;) {
      const auto* ev = reinterpret_cast<const struct inotify_event*>(p);
      p += sizeof(struct inotify_event) + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) {
        ++stats_.overflows;
        spdlog::warn("inbox: the kernel's event queue overflowed; rescanning the whole inbox "
                     "({} overflow(s) since start)", stats_.overflows);
        rescan();
        continue;
      }
      auto w = watches_.find(ev->wd);
      if (w == watches_.end()) continue;
      if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
        if (w->second == config_.path && stats_.root_present) {
          stats_.root_present = false;
          spdlog::error("inbox {}: the folder was removed or moved; reports are not seen until it "
                        "is back", config_.path.string());
        }
        if (ev->mask & IN_IGNORED) watches_.erase(w);
        stats_.watched_dirs = watches_.size();
        continue;
      }
      if (ev->len == 0) continue;
      const std::string name(ev->name);
      const fs::path full = w->second / name;
      if (ev->mask & IN_ISDIR) {
        if ((ev->mask & (IN_CREATE | IN_MOVED_TO)) && !name.empty() && name[0] != '.') {
          scan_dir(full, nullptr);  // files may have landed before the watch existed
        }
        continue;
      }
      if (!is_report_name(name)) continue;
      if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
        consider(full, true);
      } else if (ev->mask & IN_CREATE) {
        // An empty new file is a writer's open(O_CREAT): its content is still
        // to come. A file that arrives with content was linked in (sftp).
        struct stat st {};
        if (::lstat(full.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) {
          note_write(full);
        } else if (!note_in_flight(relative_of(full), Changed::kLinked)) {
          consider(full, false);
        }
      } else if (ev->mask & IN_MODIFY) {
        note_write(full);
      } else if (ev->mask & IN_ATTRIB) {
        if (parked_.count(relative_of(full))) consider(full, false);
      }
    }
  }
}

void Inbox::process_due(TimePoint now) {
  if (!stats_.polling && !stats_.root_present && now >= next_poll_) {
    next_poll_ = now + std::chrono::milliseconds(config_.poll_interval_ms);
    std::error_code ec;
    if (fs::is_directory(config_.path, ec)) {
      rescan();  // watches the new folder tree, forgets the old one's watches
      if (root_watched()) {
        stats_.root_present = true;
        spdlog::info("inbox {}: the folder is back; watching it again", config_.path.string());
      }
    }
  }
  if (stats_.polling && now >= next_poll_) {
    rescan();
    next_poll_ = now + std::chrono::milliseconds(config_.poll_interval_ms);
  }
  if (config_.rescan_interval_s > 0 && now >= next_rescan_) {
    rescan();
    next_rescan_ = now + std::chrono::seconds(config_.rescan_interval_s);
  }
  for (auto it = candidates_.begin(); it != candidates_.end();) {
    const fs::path full = config_.path / it->first;
    struct stat st {};
    if (!stat_beneath(config_.path, it->first, &st, true)) {
      // Gone, or its folder is no longer beneath the inbox (became a link).
      struct stat lst {};
      if (stat_beneath(config_.path, it->first, &lst, false) && S_ISLNK(lst.st_mode)) {
        // A symbolic link to nothing: the loader rejects it with the reason.
        ready_[it->first] = false;
      }
      it = candidates_.erase(it);  // gone before it settled
      continue;
    }
    if (!S_ISREG(st.st_mode)) {
      // Logged at each scan that finds it, as long as it stays.
      spdlog::warn("inbox: {} is not a regular file; skipped", it->first);
      it = candidates_.erase(it);
      continue;
    }
    const std::int64_t mtime = ns(st.st_mtim);
    Candidate& c = it->second;
    if (now < c.not_before) {
      ++it;
      continue;
    }
    if (c.size != st.st_size || c.mtime_ns != mtime) {
      c.size = st.st_size;
      c.mtime_ns = mtime;
      c.stable_since = now;
    }
    const auto still = now - c.stable_since;
    if (still < std::chrono::milliseconds(config_.settle_ms)) {
      ++it;
      continue;
    }
    // Settled. Complete unless a writer is known to be at work: one that the
    // lease check sees, or one inotify showed writing and not closing yet.
    const Writers writers = writers_(full);
    const bool waiting = writers == Writers::kSome || (c.writing && writers == Writers::kUnknown);
    if (waiting) {
      if (still < std::chrono::seconds(config_.write_timeout_s)) {
        ++it;
        continue;
      }
      ++stats_.write_timeouts;
      spdlog::warn("inbox: {} was written to but not closed, and has not changed for {} s "
                   "(inbox.write_timeout_s); reading it anyway. If its writer is still at work, "
                   "it may be incomplete",
                   it->first, config_.write_timeout_s);
    }
    ready_[it->first] = false;  // writers checked just now
    it = candidates_.erase(it);
  }
}

std::optional<TimePoint> Inbox::next_wakeup() const {
  std::optional<TimePoint> t;
  auto take = [&t](TimePoint x) {
    if (!t || x < *t) t = x;
  };
  if (stats_.polling || !stats_.root_present) take(next_poll_);
  if (config_.rescan_interval_s > 0) take(next_rescan_);
  if (!candidates_.empty()) {
    // Re-check often enough to notice a settled file promptly.
    TimePoint earliest = TimePoint::max();
    for (const auto& [rel, c] : candidates_) earliest = std::min(earliest, c.not_before);
    const TimePoint soon =
        clock_.now() + std::chrono::milliseconds(std::clamp(config_.settle_ms / 4, 10, 250));
    take(std::max(soon, earliest));
  }
  return t;
}

std::vector<InboxReport> Inbox::take_ready() {
  std::vector<InboxReport> out;
  for (const auto& [rel, check_writers] : ready_) {
    const fs::path full = config_.path / rel;
    // Closed by one writer while another still has it open: wait.
    if (check_writers && writers_(full) == Writers::kSome) {
      Candidate& c = candidates_[rel];
      c.writing = true;
      c.stable_since = clock_.now();
      continue;
    }
    out.push_back({full, rel});
    in_flight_.emplace(rel, Changed::kNo);
  }
  ready_.clear();
  return out;
}

void Inbox::done(const std::string& relative, Disposition disposition) {
  Changed changed = Changed::kNo;
  if (auto f = in_flight_.find(relative); f != in_flight_.end()) {
    changed = f->second;
    in_flight_.erase(f);
  }
  const bool written = changed == Changed::kWritten;
  switch (disposition) {
    case Disposition::kDone: {
      failures_.erase(relative);
      // Replaced while it was loaded: what was loaded left the inbox, so a
      // file still under the name is a new report.
      struct stat st {};
      if (changed == Changed::kNo || !stat_beneath(config_.path, relative, &st, false)) break;
      if (changed == Changed::kComplete) {
        ready_[relative] = true;  // another writer may still have it open
        break;
      }
      Candidate& c = candidates_[relative];
      c.writing = c.writing || written;
      c.stable_since = clock_.now();
      break;
    }
    case Disposition::kRetry: {
      const int n = ++failures_[relative];
      // settle_ms, doubling per failure, at most a minute.
      const auto base = std::chrono::milliseconds(std::max(config_.settle_ms, 100));
      const auto delay = std::min<std::chrono::milliseconds>(base * (1LL << std::min(n, 10)),
                                                            std::chrono::minutes(1));
      Candidate& c = candidates_[relative];
      c.not_before = clock_.now() + delay;
      c.stable_since = clock_.now();
      c.writing = c.writing || written;  // seen written while it was being loaded
      struct stat st {};
      if (stat_beneath(config_.path, relative, &st, true)) {
        c.size = st.st_size;
        c.mtime_ns = ns(st.st_mtim);
      }
      break;
    }
    case Disposition::kParked: {
      failures_.erase(relative);
      struct stat st {};
      if (stat_beneath(config_.path, relative, &st, true)) {
        parked_[relative] = {ns(st.st_ctim), st.st_size};
        stats_.parked = parked_.size();
      }
      break;
    }
  }
}

}  // namespace stockwatch
