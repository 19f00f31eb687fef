// Inbox tests: a real folder, real inotify, real files. The clock is a
// ManualClock, so settle times pass without sleeping: inotify events are
// queued by the kernel before the file operation returns, so a test can
// read them right away.
#include "inbox/inbox.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <vector>

namespace stockwatch {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A writer that keeps its file open between chunks, like a slow upload.
class OpenWriter {
 public:
  explicit OpenWriter(const fs::path& p, int flags = O_WRONLY | O_CREAT | O_TRUNC)
      : fd_(::open(p.c_str(), flags | O_CLOEXEC, 0644)) {}
  ~OpenWriter() { close(); }
  OpenWriter(const OpenWriter&) = delete;
  OpenWriter& operator=(const OpenWriter&) = delete;
  bool ok() const { return fd_ >= 0; }
  void write(const std::string& text) {
    ASSERT_EQ(::write(fd_, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "stockwatch-inbox-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

std::vector<std::string> names(const std::vector<InboxReport>& reports) {
  std::vector<std::string> out;
  for (const auto& r : reports) out.push_back(r.relative);
  std::sort(out.begin(), out.end());
  return out;
}

class InboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.path() / "inbox";
    fs::create_directories(root_);
    config_.path = root_;
    config_.settle_ms = 1000;
    config_.rescan_interval_s = 0;
    config_.mode = "inotify";
  }

  std::unique_ptr<Inbox> start(WritersCheck writers = writers_of) {
    auto inbox = std::make_unique<Inbox>(config_, clock_, std::move(writers));
    auto st = inbox->start();
    EXPECT_TRUE(st.ok()) << st.message();
    return inbox;
  }

  // One pass of the loop: events, then due work.
  std::vector<std::string> step(Inbox& inbox) {
    inbox.handle_events();
    inbox.process_due(clock_.now());
    return names(inbox.take_ready());
  }

  // A daemon that cannot take leases (a non-root user without CAP_LEASE,
  // reading files another user writes): it never knows who has a file open.
  static Writers no_leases(const fs::path&) { return Writers::kUnknown; }

  // Throws away the queued inotify events, as an overflow would.
  static void lose_events(Inbox& inbox) {
    alignas(struct inotify_event) char buf[64 * 1024];
    while (::read(inbox.fd(), buf, sizeof buf) > 0) {
    }
  }

  TempDir dir_;
  fs::path root_;
  InboxConfig config_;
  ManualClock clock_;
};

TEST(InboxNames, ReportNamesAndTemporaryNames) {
  EXPECT_TRUE(is_report_name("inventory-medan.csv"));
  EXPECT_TRUE(is_report_name("REPORT.CSV"));
  EXPECT_TRUE(is_report_name("a.Csv"));
  EXPECT_FALSE(is_report_name(".inventory.csv.Ab12Cd"));  // rsync
  EXPECT_FALSE(is_report_name(".hidden.csv"));
  EXPECT_FALSE(is_report_name("report.csv.tmp"));
  EXPECT_FALSE(is_report_name("report.csv.part"));
  EXPECT_FALSE(is_report_name("report.csv.filepart"));     // WinSCP
  EXPECT_FALSE(is_report_name(".report.csv.swp"));         // vim
  EXPECT_FALSE(is_report_name("report.csv~"));             // editors
  EXPECT_FALSE(is_report_name("report.csv.error.txt"));
  EXPECT_FALSE(is_report_name("report.txt"));
  EXPECT_FALSE(is_report_name("~$report.csv"));            // office lock file
  EXPECT_TRUE(is_report_name("stok-medan.xlsx"));
  EXPECT_TRUE(is_report_name("Stok.XLSX"));
  EXPECT_TRUE(is_report_name("stok.ods"));
  EXPECT_FALSE(is_report_name("~$stok.xlsx"));             // Excel's lock file
  EXPECT_FALSE(is_report_name(".~lock.stok.ods#"));        // LibreOffice's lock file
  EXPECT_FALSE(is_report_name("stok.xls"));                // old Excel: not read
  EXPECT_FALSE(is_report_name("stok.xlsx.tmp"));
  EXPECT_FALSE(is_report_name(""));
}

TEST_F(InboxTest, MissingFolderIsAClearError) {
  config_.path = dir_.path() / "nope";
  Inbox inbox(config_, clock_);
  auto st = inbox.start();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), ErrorCode::kNotFound);
  EXPECT_NE(st.message().find("does not exist"), std::string::npos);
}

TEST_F(InboxTest, ClosedAfterWritingIsReadyAtOnce) {
  auto inbox = start();
  write_file(root_ / "medan.csv", "store,item,count\n");
  EXPECT_EQ(step(*inbox), std::vector<std::string>{"medan.csv"});
  // Handed out once only.
  EXPECT_TRUE(step(*inbox).empty());
}

TEST_F(InboxTest, MovedInIsReadyAtOnce) {
  auto inbox = start();
  write_file(dir_.path() / "outside.csv", "x");
  fs::rename(dir_.path() / "outside.csv", root_ / "moved.csv");
  EXPECT_EQ(step(*inbox), std::vector<std::string>{"moved.csv"});
}

TEST_F(InboxTest, RsyncTemporaryNameThenRename) {
  auto inbox = start();
  write_file(root_ / ".report.csv.XyZ123", "x");
  EXPECT_TRUE(step(*inbox).empty());
  fs::rename(root_ / ".report.csv.XyZ123", root_ / "report.csv");
  EXPECT_EQ(step(*inbox), std::vector<std::string>{"report.csv"});
}

TEST_F(InboxTest, TemporaryNamesAreNeverRead) {
  auto inbox = start();
  for (const char* n : {"a.csv.tmp", "b.csv.part", "c.csv.filepart", ".d.csv.swp", "e.csv~", ".f.csv"}) {
    write_file(root_ / n, "x");
  }
  EXPECT_TRUE(step(*inbox).empty());
  clock_.advance(10s);
  EXPECT_TRUE(step(*inbox).empty());
}

TEST_F(InboxTest, HardLinkThenUnlinkSettlesFirst) {
  // OpenSSH's sftp-server: write a temporary file, link() it to the final
  // name, unlink the temporary. The final name arrives as IN_CREATE only.
  write_file(root_ / "upload.csv.tmp", "store,item,count\n");
  auto inbox = start();
  ASSERT_EQ(::link((root_ / "upload.csv.tmp").c_str(), (root_ / "upload.csv").c_str()), 0);
  ASSERT_EQ(::unlink((root_ / "upload.csv.tmp").c_str()), 0);
  EXPECT_TRUE(step(*inbox).empty());   // seen, not settled
  clock_.advance(500ms);
  EXPECT_TRUE(step(*inbox).empty());
  clock_.advance(600ms);
  EXPECT_EQ(step(*inbox), std::vector<std::string>{"upload.csv"});
}

TEST_F(InboxTest, FilesPresentAtStartSettleThenLoad) {
  write_file(root_ / "old.csv", "x");
  fs::create_directories(root_ / "sub");
  write_file(root_ / "sub" / "older.csv", "x");
  auto inbox = start();
  EXPECT_TRUE(step(*inbox).empty());
  clock_.advance(1100ms);
  EXPECT_EQ(step(*inbox), (std::vector<std::string>{"old.csv", "sub/older.csv"}));
}

// A FIFO (or socket, or device) with a report's name is never read, and is
// logged as a warning at each scan that finds it, as docs/inbox.md says.
TEST_F(InboxTest, AFifoNamedLikeAReportIsLoggedAtEachRescan) {
  ASSERT_EQ(::mkfifo((root_ / "pipe.csv").c_str(), 0644), 0);
  std::ostringstream log;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  sink->set_pattern("%l %v");
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("fifo", sink));
  const auto warnings = [&] {
    const std::string text = log.str();
    std::size_t n = 0;
    for (auto pos = text.find("warning inbox: pipe.csv is not a regular file; skipped");
         pos != std::string::npos; pos = text.find("warning inbox: pipe.csv", pos + 1)) {
      ++n;
    }
    return n;
  };
  auto inbox = start();
  EXPECT_TRUE(step(*inbox).empty());
  clock_.advance(1100ms);
  EXPECT_TRUE(step(*inbox).empty());
  EXPECT_EQ(warnings(), 1u) << log.str();
  inbox->rescan();
  clock_.advance(1100ms);
  EXPECT_TRUE(step(*inbox).empty());
  EXPECT_EQ(warnings(), 2u) << log.str();
  spdlog::set_default_logger(previous);
}

TEST_F(InboxTest, GrowingFileWaitsUntilItHoldsStill) {
  write_file(root_ / "slow.csv", "store,item,count\n");
  auto inbox = start();
  step(*inbox);
  for (int i = 0; i < 5; ++i) {
    clock_.advance(600ms);
    std::ofstream(root_ / "slow.csv", std::ios::app) << "Medan,Item " << i << ",1\n";
    // Appending closes the file too: that is "closed after writing".
    auto ready = step(*inbox);
    if (!ready.empty()) {
      EXPECT_EQ(ready, std::vector<std::string>{"slow.csv"});
      inbox->done("slow.csv", Disposition::kRetry);
    }
  }
}

TEST_F(InboxTest, FileStillOpenForWritingIsNotRead) {
  write_file(root_ / "open.csv", "store,item,count\n");
  auto inbox = start();
  step(*inbox);
  const int fd = ::open((root_ / "open.csv").c_str(), O_WRONLY | O_APPEND);
  ASSERT_GE(fd, 0);
  clock_.advance(5s);
  EXPECT_TRUE(step(*inbox).empty()) << "a writer still has the file open";
  ::close(fd);  // IN_CLOSE_WRITE
  EXPECT_EQ(step(*inbox), std::vector<std::string>{"open.csv"});
}

TEST_F(InboxTest, NewSubfolderIsWatched) {
  auto inbox = start();
  fs::create_directories(root_ / "medan" / "2026");
  step(*inbox);
  write_file(root_ / "medan" / "2026" / "11.csv", "x");
  EXPECT_EQ(step(*inbox), std::vector<std::string>{"medan/2026/11.csv"});
}

TEST_F(InboxTest, FileRenamedIntoANewFolderBeforeItsWatchSettles) {
  // The folder's watch comes from its IN_CREATE: a file renamed into it
  // before then is found by the folder's scan and must settle, as anything
  // found by a scan.
  auto inbox = start();
  fs::create_directories(root_ / "new" / "deeper");
  write_file(dir_.path() / "staged", "x");
  fs::rename(dir_.path() / "staged", root_ / "new" / "deeper" / "a.csv");
  EXPECT_TRUE(step(*inbox).empty());
  clock_.advance(1s);
  EXPECT_EQ(step(*inbox), std::vector<std::string>{"new/deeper/a.csv"});
}

TEST_F(InboxTest, PlacedByAnUploadIsReadyAtOnceInANewFolder) {
  auto inbox = start();
  fs::create_directories(root_ / "new" / "deeper");
  write_file(dir_.path() / "staged", "x");
  fs::rename(dir_.path() / "staged", root_ / "new" / "deeper" / "a.csv");
  inbox->placed("new/deeper/a.csv");
  EXPECT_EQ(step(*inbox), std::vector<std::string>{"new/deeper/a.csv"});   // no settle
  // Told again (or late, after it was handed out or archived): nothing new.
  inbox->placed("new/deeper/a.csv");
  EXPECT_TRUE(step(*inbox).empty());
  inbox->done("new/deeper/a.csv", Disposition::kDone);
  fs::remove(root_ / "new" / "deeper" / "a.csv");
  inbox->placed("new/deeper/a.csv");
  inbox->placed("not/a/report.txt");
  EXPECT_TRUE(step(*inbox).empty());
  // The new folder is watched as any other.
  write_file(root_ / "new" / "deeper" / "b.csv", "x");
  EXPECT_EQ(step(*inbox), std::vector<std::string>{"new/deeper/b.csv"});
}

TEST_F(InboxTest, DirectoryNamedLikeAReportIsAFolder) {
  auto inbox = start();
  fs::create_directories(root_ / "folder.csv");
  clock_.advance(2s);
  EXPECT_TRUE(step(*inbox).empty());
  write_file(root_ / "folder.csv" / "inside.csv", "x");
  EXPECT_EQ(step(*inbox), std::vector<std::string>{"folder.csv/inside.csv"});
}

TEST_F(InboxTest, RescanFindsWhatEventsMissed) {
  // Stands in for an IN_Q_OVERFLOW, which needs more events than a unit
  // test should make; the end-to-end tests cause a real one. The overflow
  // handler calls this same rescan().
  auto inbox = start();
  inbox->rescan();
  EXPECT_EQ(inbox->stats().scans, 2u);
  write_file(root_ / "missed.csv", "x");
  inbox->rescan();  // without reading the events
  inbox->process_due(clock_.now());
  clock_.advance(1100ms);
  inbox->process_due(clock_.now());
  EXPECT_EQ(names(inbox->take_ready()), std::vector<std::string>{"missed.csv"});
}

TEST_F(InboxTest, RetryBacksOff) {
  auto inbox = start();
  write_file(root_ / "busy.csv", "x");
  ASSERT_EQ(step(*inbox), std::vector<std::string>{"busy.csv"});
  inbox->done("busy.csv", Disposition::kRetry);
  clock_.advance(1100ms);
  EXPECT_TRUE(step(*inbox).empty()) << "first retry waits 2 x settle";
  clock_.advance(1000ms);
  EXPECT_EQ(step(*inbox), std::vector<std::string>{"busy.csv"});
  inbox->done("busy.csv", Disposition::kRetry);
  clock_.advance(3s);
  EXPECT_TRUE(step(*inbox).empty()) << "second retry waits 4 x settle";
  clock_.advance(1100ms);
  EXPECT_EQ(step(*inbox), std::vector<std::string>{"busy.csv"});
}

TEST_F(InboxTest, ParkedFileComesBackWhenItsPermissionsChange) {
  auto inbox = start();
  write_file(root_ / "locked.csv", "x");
  ASSERT_EQ(step(*inbox), std::vector<std::string>{"locked.csv"});
  inbox->done("locked.csv", Disposition::kParked);
  EXPECT_EQ(inbox->stats().parked, 1u);
  inbox->rescan();
  clock_.advance(10s);
  EXPECT_TRUE(step(*inbox).empty()) << "unchanged: stays parked";
  fs::permissions(root_ / "locked.csv", fs::perms::others_read, fs::perm_options::add);
  step(*inbox);  // IN_ATTRIB
  clock_.advance(1100ms);
  EXPECT_EQ(step(*inbox), std::vector<std::string>{"locked.csv"});
}

TEST_F(InboxTest, VanishedCandidateIsForgotten) {
  write_file(root_ / "gone.csv", "x");
  auto inbox = start();
  fs::remove(root_ / "gone.csv");
  clock_.advance(2s);
  EXPECT_TRUE(step(*inbox).empty());
}

TEST_F(InboxTest, FolderRemovedAndRecreatedIsWatchedAgain) {
  config_.poll_interval_ms = 100;
  auto inbox = start();
  fs::remove_all(root_);
  step(*inbox);
  EXPECT_FALSE(inbox->stats().root_present);
  fs::create_directories(root_);
  write_file(root_ / "back.csv", "x");
  clock_.advance(200ms);
  step(*inbox);  // notices the folder, rescans
  EXPECT_TRUE(inbox->stats().root_present);
  clock_.advance(1100ms);
  EXPECT_EQ(step(*inbox), std::vector<std::string>{"back.csv"});
  write_file(root_ / "after.csv", "x");
  EXPECT_EQ(step(*inbox), std::vector<std::string>{"after.csv"});
}

TEST_F(InboxTest, PollModeFindsFilesWithoutInotify) {
  config_.mode = "poll";
  config_.poll_interval_ms = 500;
  auto inbox = start();
  EXPECT_TRUE(inbox->polling());
  EXPECT_EQ(inbox->fd(), -1);
  write_file(root_ / "polled.csv", "x");
  clock_.advance(600ms);
  EXPECT_TRUE(step(*inbox).empty());  // found, settling
  clock_.advance(1100ms);
  EXPECT_EQ(step(*inbox), std::vector<std::string>{"polled.csv"});
}

// --- Completeness without leases -------------------------------------------------
// The daemon as its own unprivileged user reading a file another user
// writes: the lease check cannot tell whether the file is still open, so
// what inotify showed decides.

TEST_F(InboxTest, SlowWriterWithoutLeasesWaitsForTheClose) {
  auto inbox = start(no_leases);
  OpenWriter w(root_ / "slow.csv");
  ASSERT_TRUE(w.ok());
  w.write("store,item,count\nMedan,A,1\n");  // IN_CREATE, IN_MODIFY
  EXPECT_TRUE(step(*inbox).empty());
  clock_.advance(2500ms);  // a pause far longer than settle_ms
  EXPECT_TRUE(step(*inbox).empty()) << "seen written, not closed: not complete";
  w.write("Medan,B,2\n");
  clock_.advance(2500ms);
  EXPECT_TRUE(step(*inbox).empty());
  w.close();  // IN_CLOSE_WRITE
  EXPECT_EQ(step(*inbox), std::vector<std::string>{"slow.csv"});
  EXPECT_EQ(inbox->stats().write_timeouts, 0u);
}

TEST_F(InboxTest, CreatedEmptyAndPausedBeforeTheFirstWriteWaitsForTheClose) {
  auto inbox = start(no_leases);
  OpenWriter w(root_ / "late.csv");  // open(O_CREAT): IN_CREATE of an empty file
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(step(*inbox).empty());
  clock_.advance(5s);
  EXPECT_TRUE(step(*inbox).empty()) << "an empty new file is being written";
  w.write("store,item,count\nMedan,A,1\n");
  clock_.advance(5s);
  EXPECT_TRUE(step(*inbox).empty());
  w.close();
  EXPECT_EQ(step(*inbox), std::vector<std::string>{"late.csv"});
}

TEST_F(InboxTest, HardLinkWithoutLeasesSettles) {
  // sftp's link() then unlink(): IN_CREATE of a file with content and no
  // write after it. Found "by other means": the settle rule applies.
  write_file(root_ / "upload.csv.tmp", "store,item,count\n");
  auto inbox = start(no_leases);
  ASSERT_EQ(::link((root_ / "upload.csv.tmp").c_str(), (root_ / "upload.csv").c_str()), 0);
  ASSERT_EQ(::unlink((root_ / "upload.csv.tmp").c_str()), 0);
  EXPECT_TRUE(step(*inbox).empty());
  clock_.advance(1100ms);
  EXPECT_EQ(step(*inbox), std::vector<std::string>{"upload.csv"});
}

TEST_F(InboxTest, ScannedFileWithoutLeasesSettles) {
  write_file(root_ / "old.csv", "store,item,count\n");
  auto inbox = start(no_leases);
  EXPECT_TRUE(step(*inbox).empty());
  clock_.advance(1100ms);
  EXPECT_EQ(step(*inbox), std::vector<std::string>{"old.csv"});
}

TEST_F(InboxTest, ScannedFileThatIsThenWrittenWaitsForTheClose) {
  // Found by the start-up scan while its writer was pausing; the writer's
  // next write shows it is still at work.
  write_file(root_ / "early.csv", "store,item,count\n");
  OpenWriter w(root_ / "early.csv", O_WRONLY | O_APPEND);
  ASSERT_TRUE(w.ok());
  auto inbox = start(no_leases);
  EXPECT_TRUE(step(*inbox).empty());
  clock_.advance(500ms);
  w.write("Medan,A,1\n");  // IN_MODIFY
  clock_.advance(3s);
  EXPECT_TRUE(step(*inbox).empty());
  w.close();
  EXPECT_EQ(step(*inbox), std::vector<std::string>{"early.csv"});
}

TEST_F(InboxTest, WrittenAgainAfterItWasMovedInWaitsForTheClose) {
  auto inbox = start(no_leases);
  write_file(dir_.path() / "outside.csv", "store,item,count\n");
  fs::rename(dir_.path() / "outside.csv", root_ / "moved.csv");  // IN_MOVED_TO
  OpenWriter w(root_ / "moved.csv", O_WRONLY | O_APPEND);
  w.write("Medan,A,1\n");  // IN_MODIFY, read in the same batch
  EXPECT_TRUE(step(*inbox).empty());
  clock_.advance(5s);
  EXPECT_TRUE(step(*inbox).empty());
  w.close();
  EXPECT_EQ(step(*inbox), std::vector<std::string>{"moved.csv"});
}

TEST_F(InboxTest, WrittenWhileBeingLoadedWaitsForTheCloseBeforeTheRetry) {
  auto inbox = start(no_leases);
  write_file(root_ / "again.csv", "store,item,count\n");
  ASSERT_EQ(step(*inbox), std::vector<std::string>{"again.csv"});
  OpenWriter w(root_ / "again.csv", O_WRONLY | O_APPEND);
  w.write("Medan,A,1\n");
  inbox->handle_events();
  inbox->done("again.csv", Disposition::kRetry);  // the loader saw it change
  clock_.advance(10s);                              // well past the retry delay
  EXPECT_TRUE(step(*inbox).empty());
  w.close();
  EXPECT_EQ(step(*inbox), std::vector<std::string>{"again.csv"});
}

TEST_F(InboxTest, WriterThatNeverClosesIsReadAfterTheWriteTimeout) {
  config_.write_timeout_s = 60;
  auto inbox = start(no_leases);
  OpenWriter w(root_ / "stuck.csv");
  w.write("store,item,count\nMedan,A,1\n");
  EXPECT_TRUE(step(*inbox).empty());
  clock_.advance(50s);
  w.write("Medan,B,2\n");  // the timeout counts from the last change
  EXPECT_TRUE(step(*inbox).empty());
  clock_.advance(50s);
  EXPECT_TRUE(step(*inbox).empty());
  clock_.advance(11s);
  EXPECT_EQ(step(*inbox), std::vector<std::string>{"stuck.csv"});
  EXPECT_EQ(inbox->stats().write_timeouts, 1u);
}

TEST_F(InboxTest, WriterSeenByTheLeaseIsReadAfterTheWriteTimeout) {
  // With leases (root, or the daemon owns the file) a hung writer that
  // holds the file open is seen; the safety net still applies.
  config_.write_timeout_s = 30;
  write_file(root_ / "held.csv", "store,item,count\n");
  auto inbox = start();
  OpenWriter w(root_ / "held.csv", O_WRONLY | O_APPEND);
  EXPECT_TRUE(step(*inbox).empty());
  clock_.advance(20s);
  EXPECT_TRUE(step(*inbox).empty());
  clock_.advance(11s);
  EXPECT_EQ(step(*inbox), std::vector<std::string>{"held.csv"});
  EXPECT_EQ(inbox->stats().write_timeouts, 1u);
}

TEST_F(InboxTest, LostCloseIsMadeUpForByTheLease) {
  // The close event is lost (an overflow): where the lease can tell that
  // nobody writes any more, the settle rule completes the file.
  auto inbox = start();
  OpenWriter w(root_ / "closed.csv");
  w.write("store,item,count\n");
  EXPECT_TRUE(step(*inbox).empty());
  w.close();
  lose_events(*inbox);
  clock_.advance(1100ms);
  inbox->process_due(clock_.now());
  EXPECT_EQ(names(inbox->take_ready()), std::vector<std::string>{"closed.csv"});
}

// --- Rescans watch what they find -------------------------------------------------

TEST_F(InboxTest, RescanWatchesFoldersCreatedWhileEventsWereLost) {
  auto inbox = start();
  EXPECT_EQ(inbox->stats().watched_dirs, 1u);
  fs::create_directories(root_ / "lost" / "deeper");
  lose_events(*inbox);  // the IN_CREATE of lost/ is gone
  inbox->rescan();      // what an overflow or the periodic scan does
  EXPECT_EQ(inbox->stats().watched_dirs, 3u);
  // Watched now: a report written there is complete at its close, without
  // waiting for the next scan.
  write_file(root_ / "lost" / "deeper" / "a.csv", "x");
  EXPECT_EQ(step(*inbox), std::vector<std::string>{"lost/deeper/a.csv"});
}

TEST_F(InboxTest, RescanFollowsFoldersRenamedOrMovedOutWhileEventsWereLost) {
  fs::create_directories(root_ / "old" / "sub");
  fs::create_directories(root_ / "leaving");
  auto inbox = start();
  EXPECT_EQ(inbox->stats().watched_dirs, 4u);
  fs::rename(root_ / "old", root_ / "new");
  fs::rename(root_ / "leaving", dir_.path() / "left");
  lose_events(*inbox);
  inbox->rescan();
  EXPECT_EQ(inbox->stats().watched_dirs, 3u) << "the folder that left is no longer watched";
  // Events from the renamed folders carry their new names.
  write_file(root_ / "new" / "sub" / "b.csv", "x");
  write_file(dir_.path() / "left" / "c.csv", "x");
  EXPECT_EQ(step(*inbox), std::vector<std::string>{"new/sub/b.csv"});
  clock_.advance(2s);
  EXPECT_TRUE(step(*inbox).empty());
}

TEST_F(InboxTest, ReplacedWhileBeingLoadedIsTakenUpAgainAtOnce) {
  auto inbox = start(no_leases);
  write_file(root_ / "swap.csv", "store,item,count\nMedan,A,1\n");
  ASSERT_EQ(step(*inbox), std::vector<std::string>{"swap.csv"});
  // A new report renamed onto the name while the old one loads.
  write_file(dir_.path() / "staged", "store,item,count\nMedan,A,2\n");
  fs::rename(dir_.path() / "staged", root_ / "swap.csv");
  EXPECT_TRUE(step(*inbox).empty()) << "handed out once until done";
  // The archive kept the old file (it had left the name already): the name
  // holds the new one, taken up without waiting for a rescan.
  inbox->done("swap.csv", Disposition::kDone);
  EXPECT_EQ(step(*inbox), std::vector<std::string>{"swap.csv"});
  // Done with it and nothing changed meanwhile: not handed out again.
  fs::remove(root_ / "swap.csv");
  inbox->done("swap.csv", Disposition::kDone);
  EXPECT_TRUE(step(*inbox).empty());
}

TEST_F(InboxTest, RewrittenWhileBeingLoadedWaitsForTheCloseAfterDone) {
  auto inbox = start(no_leases);
  write_file(root_ / "re.csv", "store,item,count\n");
  ASSERT_EQ(step(*inbox), std::vector<std::string>{"re.csv"});
  fs::remove(root_ / "re.csv");  // archived meanwhile
  OpenWriter w(root_ / "re.csv");
  w.write("store,item,count\nMedan,A,1\n");
  inbox->handle_events();
  inbox->done("re.csv", Disposition::kDone);
  clock_.advance(10s);
  EXPECT_TRUE(step(*inbox).empty()) << "still being written";
  w.close();
  EXPECT_EQ(step(*inbox), std::vector<std::string>{"re.csv"});
}

TEST_F(InboxTest, LeftUnchangedWhileBeingLoadedIsNotTakenUpAgain) {
  auto inbox = start(no_leases);
  write_file(root_ / "same.csv", "store,item,count\n");
  ASSERT_EQ(step(*inbox), std::vector<std::string>{"same.csv"});
  inbox->done("same.csv", Disposition::kDone);  // left in place, no new events
  clock_.advance(10s);
  EXPECT_TRUE(step(*inbox).empty());
}

TEST_F(InboxTest, ACandidateWhoseFolderBecameALinkIsDropped) {
  const fs::path outside = dir_.path() / "outside";
  fs::create_directories(outside);
  write_file(outside / "x.csv", "SECRET=abc\n");
  fs::create_directories(root_ / "evil");
  write_file(dir_.path() / "report", "store,item,count\nMedan,A,1\n");
  auto inbox = start(no_leases);
  fs::create_hard_link(dir_.path() / "report", root_ / "evil" / "x.csv");  // settles
  EXPECT_TRUE(step(*inbox).empty());
  fs::rename(root_ / "evil", root_ / "evil.real");
  fs::create_directory_symlink(outside, root_ / "evil");
  clock_.advance(2s);
  auto ready = step(*inbox);
  EXPECT_EQ(std::count(ready.begin(), ready.end(), "evil/x.csv"), 0)
      << "a path through a folder link is never handed out";
  clock_.advance(2s);
  ready = step(*inbox);
  EXPECT_EQ(std::count(ready.begin(), ready.end(), "evil/x.csv"), 0);
}

// Nodes of a shared inbox walk it in orders of their own, each the same
// every time; none loses or repeats a report.
TEST(InboxOrder, EachNodeWalksASharedFolderInAnOrderOfItsOwn) {
  std::vector<InboxReport> names;
  for (int i = 0; i < 1000; ++i) {
    const std::string rel = "report-" + std::to_string(10000 + i) + ".csv";
    names.push_back({fs::path("/inbox") / rel, rel});
  }
  const auto order = [&](std::string_view node) {
    auto reports = names;
    order_for_node(reports, node);
    std::vector<std::string> out;
    for (const auto& r : reports) out.push_back(r.relative);
    return out;
  };
  const auto a = order("serve@node-a pid 10");
  const auto b = order("serve@node-b pid 11");
  EXPECT_EQ(a, order("serve@node-a pid 10")) << "the same node, the same order";
  auto sorted_a = a;
  std::sort(sorted_a.begin(), sorted_a.end());
  std::vector<std::string> all;
  for (const auto& r : names) all.push_back(r.relative);
  EXPECT_EQ(sorted_a, all) << "every report once";
  EXPECT_NE(a.front(), b.front()) << "the two nodes start at different files";
  // In the first hundred each takes, the two meet on a few files at most
  // (by chance about ten; in name order, on all hundred).
  std::vector<std::string> first_a(a.begin(), a.begin() + 100);
  std::vector<std::string> first_b(b.begin(), b.begin() + 100);
  std::sort(first_a.begin(), first_a.end());
  std::sort(first_b.begin(), first_b.end());
  std::vector<std::string> both;
  std::set_intersection(first_a.begin(), first_a.end(), first_b.begin(), first_b.end(),
                        std::back_inserter(both));
  EXPECT_LT(both.size(), 30u);
  // Paths are kept with their names.
  auto reports = names;
  order_for_node(reports, "serve@node-a pid 10");
  for (const auto& r : reports) EXPECT_EQ(r.path, fs::path("/inbox") / r.relative);
}

}  // namespace
}  // namespace stockwatch
