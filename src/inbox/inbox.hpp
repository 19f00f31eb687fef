// The inbox (the S3 bucket): finds complete reports in a folder tree.
//
// Contract:
// - start() checks the folder exists (Error otherwise), sets up inotify
//   watches on it and on every subfolder (unless polling), and scans it.
// - A report is a regular file whose name ends in ".csv", ".xlsx" or ".ods"
//   (any case; report/report_format.hpp) and is
//   not hidden or temporary (".name", "*.tmp", "*.part", "*.filepart",
//   "*.swp", "*~"). When it becomes ready (complete):
//   - moved in, or closed after writing (IN_MOVED_TO, IN_CLOSE_WRITE): at
//     once;
//   - seen being written (IN_MODIFY, or IN_CREATE of an empty file, which is
//     how a writer's open(O_CREAT) looks) but not yet closed: only when it is
//     closed or moved; or, if no program has it open for writing (a read
//     lease is granted), once it held still for settle_ms; or, as a safety
//     net for a writer that hangs or died holding it open, once it has not
//     changed for write_timeout_s (logged as a warning, counted);
//   - found any other way (a scan, a poll, a hard link: IN_CREATE of a file
//     with content and no writes after): once its size and mtime have held
//     still for settle_ms and no program is known to have it open for
//     writing.
// - Every scan (start-up, periodic, after IN_Q_OVERFLOW, after the inbox
//   folder comes back) also watches folders it finds unwatched, and forgets
//   watches of folders that have left the tree.
// - The Inbox does no blocking work beyond reading directory entries; it is
//   driven one step at a time: handle_events() when fd() is readable,
//   process_due(now) when next_wakeup() comes, take_ready() to collect
//   reports. Each report is handed out once until done() is called for it.
//   A name moved onto, closed after writing, written or linked while it was
//   handed out is taken up again by done(kDone) when it still holds a file
//   (the loaded one left the inbox, so that is a new report), without
//   waiting for the next rescan.
// - Not thread-safe: use it on the event loop thread only.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "config/config.hpp"
#include "base/result.hpp"
#include "os/unique_fd.hpp"

namespace stockwatch {

struct InboxReport {
  std::filesystem::path path;       // absolute
  std::string relative;             // relative to the inbox root, '/' separated
};

// What became of a report handed out by take_ready().
enum class Disposition {
  kDone,     // archived, removed or vanished: forget it
  kRetry,    // a temporary failure: try again after a growing delay
  kParked,   // cannot be read as it is (permissions): try again once the
             // file changes (its mode, owner, size or mtime)
};

struct InboxStats {
  std::uint64_t scans = 0;            // whole-tree scans: start-up, periodic, overflow, poll
  std::uint64_t overflows = 0;        // IN_Q_OVERFLOW events (each followed by a scan)
  std::uint64_t watched_dirs = 0;
  std::uint64_t parked = 0;
  std::uint64_t write_timeouts = 0;   // reports read after inbox.write_timeout_s, never closed
  bool polling = false;
  bool root_present = true;
};

// Whether `name` (a file name, no directories) is a report name.
bool is_report_name(const std::string& name);

// Whether some program has a file open for writing, as far as this process
// can tell: it asks for a read lease, which the kernel grants only when
// nobody does. kUnknown where a lease cannot be had: a symbolic link (never
// opened), a file owned by another user without CAP_LEASE, or a filesystem
// without leases.
enum class Writers { kNone, kSome, kUnknown };
[[nodiscard]] Writers writers_of(const std::filesystem::path& file);
using WritersCheck = std::function<Writers(const std::filesystem::path&)>;

// Puts reports in the order a node of a shared inbox (inbox.shared) takes
// them: by a hash of `node` (the node's name) and each report's name, so
// that every node walks the same folder in an order of its own. Nodes
// that all walked it in name order would all try the same file first,
// one would win its claim and the others would wait and try the next
// one together again; in orders of their own they meet on a file only by
// chance. The same node and names always give the same order.
void order_for_node(std::vector<InboxReport>& reports, std::string_view node);

class Inbox {
 public:
  // `writers` answers "is this file open for writing?"; tests replace it to
  // play a daemon that cannot take leases.
  Inbox(InboxConfig config, const Clock& clock, WritersCheck writers = writers_of);

  [[nodiscard]] Status start();
  // The inotify descriptor to wait on (readable = call handle_events()),
  // or -1 when polling.
  [[nodiscard]] int fd() const { return inotify_.get(); }
  // Reads every pending inotify event without blocking.
  void handle_events();
  // Walks the whole tree; new files become settle candidates, unwatched
  // folders are watched.
  void rescan();
  // Promotes settled candidates; runs the poll and rescan when due.
  void process_due(TimePoint now);
  // When process_due() should run next (nullopt = only on events).
  [[nodiscard]] std::optional<TimePoint> next_wakeup() const;
  // A report this process placed whole (an S3 upload renamed into the
  // inbox): ready at once, like one moved in. A folder created for it is
  // watched by its own event; the file need not wait to settle.
  void placed(const std::string& relative);
  // Reports ready to load, each handed out once until done().
  [[nodiscard]] std::vector<InboxReport> take_ready();
  // The report was handled; see Disposition.
  void done(const std::string& relative, Disposition disposition);

  [[nodiscard]] const InboxStats& stats() const { return stats_; }
  [[nodiscard]] bool polling() const { return stats_.polling; }

 private:
  // What happened to a handed-out name while it was loaded, the last
  // event counts: done() takes the name up again when it still holds a file then.
  enum class Changed { kNo, kWritten, kLinked, kComplete };
  struct Candidate {
    std::int64_t size = -1;
    std::int64_t mtime_ns = -1;
    TimePoint stable_since{};
    TimePoint not_before{};   // retry backoff
    bool writing = false;     // seen written, not yet closed: waits for the close
  };
  struct Parked {
    std::int64_t ctime_ns = 0;
    std::int64_t size = 0;
  };
  // inotify_add_watch: 0, or the errno. Records the descriptor in watches_
  // and in `seen` (a whole-tree scan's list).
  int watch_dir(const std::filesystem::path& dir, std::set<int>* seen);
  void scan_dir(const std::filesystem::path& dir, std::set<int>* seen);
  [[nodiscard]] bool root_watched() const;
  void consider(const std::filesystem::path& path, bool complete);
  void note_write(const std::filesystem::path& path);
  // Records `change` for a name being loaded; false when it is not in flight.
  bool note_in_flight(const std::string& relative, Changed change);
  std::string relative_of(const std::filesystem::path& path) const;

  InboxConfig config_;
  const Clock& clock_;
  WritersCheck writers_;
  UniqueFd inotify_;
  std::map<int, std::filesystem::path> watches_;   // watch descriptor -> directory
  std::map<std::string, Candidate> candidates_;    // relative -> settle state
  std::map<std::string, bool> ready_;              // complete, not yet handed out -> whether
                                                   // to check for other writers first
  std::map<std::string, Changed> in_flight_;       // handed out, not done -> changed since
  std::map<std::string, int> failures_;            // relative -> consecutive retries
  std::map<std::string, Parked> parked_;           // relative -> state when parked
  std::set<std::filesystem::path> unwatchable_;    // folders whose watch failed (logged once)
  TimePoint next_rescan_{};
  TimePoint next_poll_{};
  InboxStats stats_;
};

}  // namespace stockwatch
