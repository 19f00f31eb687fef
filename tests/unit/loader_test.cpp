// The loader: one report file into the inventory as one transaction, with its
// ledger entry; rejected, duplicate and resumed reports; system failures.
#include "pipeline/loader.hpp"

#include <fcntl.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "crypto/sha256.hpp"
#include "pipeline/usage.hpp"
#include "os/unique_fd.hpp"
#include "test_util.hpp"

namespace stockwatch {
namespace {

using namespace std::chrono_literals;
using test::RawDb;
using test::TempDir;
using test::write_file;

const std::string kGood =
    "store,item,count\n"
    "Medan,Robusta Dairi,0\n"
    "Medan,Arabica Gayo,12\n"
    "Makassar,Toraja,3\n";

class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage_ = Storage::open(dir_ / "stockwatch.db", {}, clock_);
    std::filesystem::create_directories(inbox());
  }

  [[nodiscard]] std::filesystem::path inbox() const { return dir_ / "inbox"; }

  // Writes `content` as inbox/<name> and loads it as <name>.
  Result<LoadOutcome> load(const std::string& name, const std::string& content,
                           LoaderOptions options = {}) {
    write_file(inbox() / name, content);
    Loader loader(*storage_, clock_, std::move(options));
    return loader.load(inbox() / name, name);
  }

  std::int64_t count_rows(const std::string& table) {
    RawDb raw(dir_ / "stockwatch.db");
    return raw.integer("SELECT COUNT(*) FROM " + table);
  }

  void expect_nothing_loaded() {
    EXPECT_EQ(count_rows("inventory"), 0);
    EXPECT_EQ(count_rows("changes"), 0);
    EXPECT_EQ(count_rows("reports WHERE status = 'loaded'"), 0);
  }

  TempDir dir_{"loader"};
  ManualClock clock_;
  std::unique_ptr<Storage> storage_;
};

TEST_F(LoaderTest, AGoodReportLoads) {
  auto out = load("2026-11-medan.csv", kGood);
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(out->status, ReportStatus::kLoaded);
  EXPECT_EQ(out->rows, 3);
  EXPECT_EQ(out->changes, 3);
  EXPECT_EQ(out->error, "");
  EXPECT_FALSE(out->resumed);
  EXPECT_EQ(out->duplicate_of, 0);
  EXPECT_EQ(out->summary(), "loaded 3 rows, 3 changes");

  auto count = storage_->count_of("Medan", "Arabica Gayo");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, std::optional<std::int64_t>(12));

  auto rec = storage_->report(out->report_id);
  ASSERT_TRUE(rec.ok() && rec->has_value());
  EXPECT_EQ((*rec)->path, "2026-11-medan.csv");
  EXPECT_EQ((*rec)->status, ReportStatus::kLoaded);
  EXPECT_EQ((*rec)->size, static_cast<std::int64_t>(kGood.size()));
  EXPECT_EQ((*rec)->sha256, Sha256::of(kGood));
  EXPECT_EQ((*rec)->rows, 3);
  EXPECT_EQ((*rec)->changes, 3);
  EXPECT_EQ((*rec)->received_at, clock_.now());

  // The next report only changes what changed.
  auto next = load("2026-12-medan.csv",
                   "store,item,count\nMedan,Robusta Dairi,4\nMedan,Arabica Gayo,12\n");
  ASSERT_TRUE(next.ok()) << next.error().message();
  EXPECT_EQ(next->status, ReportStatus::kLoaded);
  EXPECT_EQ(next->rows, 2);
  EXPECT_EQ(next->changes, 1);
  EXPECT_EQ(next->summary(), "loaded 2 rows, 1 change");
  EXPECT_EQ(count_rows("changes"), 4);
}

TEST_F(LoaderTest, TheDateColumnDatesTheReportBeforeItsName) {
  // Named for November, counted on 15 December: the column wins.
  auto out = load("2026-11-medan.csv",
                  "tanggal,gudang,barang,jumlah\n15/12/2026,Medan,Gayo,4\n15/12/2026,Medan,Toraja,0\n");
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(out->status, ReportStatus::kLoaded) << out->error;
  auto rec = storage_->report(out->report_id);
  ASSERT_TRUE(rec.ok() && rec->has_value());
  EXPECT_EQ((*rec)->date_source, "column");
  EXPECT_EQ((*rec)->report_day, std::optional<std::int64_t>(20802));  // 2026-12-15
  // Without the column, the name's month (its last day).
  auto named = load("2026-11-makassar.csv", "store,item,count\nMakassar,Toraja,3\n");
  ASSERT_TRUE(named.ok());
  rec = storage_->report(named->report_id);
  ASSERT_TRUE(rec.ok() && rec->has_value());
  EXPECT_EQ((*rec)->date_source, "name");
  EXPECT_EQ((*rec)->report_day, std::optional<std::int64_t>(20787));  // 2026-11-30
  // Two dates in one report: rejected, nothing loaded of it.
  auto mixed = load("mixed.csv", "store,item,count,date\nPadang,Solok,1,2026-12-01\nPadang,Kerinci,2,2026-12-02\n");
  ASSERT_TRUE(mixed.ok());
  EXPECT_EQ(mixed->status, ReportStatus::kRejected);
  EXPECT_EQ(mixed->error.rfind("line 3, column date: the date 2026-12-02 differs from 2026-12-01 on line 2", 0), 0u)
      << mixed->error;
  EXPECT_EQ(*storage_->count_of("Padang", "Solok"), std::nullopt);
}

// The report's date from its name decides: November's counts stay when
// October's report is loaded after it; October's become history only.
TEST_F(LoaderTest, AnOlderReportOfAStoreNeverMovesItsCountBackNorRaisesAnEvent) {
  auto nov = load("medan/2026-11.csv", "store,item,count\nMedan,Arabica Gayo,0\n");
  ASSERT_TRUE(nov.ok()) << nov.error().message();
  ASSERT_EQ(nov->changes, 1);
  const std::int64_t events = count_rows("events");
  auto oct = load("medan/2026-10.csv",
                  "store,item,count\nMedan,Arabica Gayo,40\nMedan,Toraja,7\n");
  ASSERT_TRUE(oct.ok()) << oct.error().message();
  EXPECT_EQ(oct->status, ReportStatus::kLoaded);
  EXPECT_EQ(oct->rows, 2);
  EXPECT_EQ(oct->changes, 0);
  EXPECT_EQ(*storage_->count_of("Medan", "Arabica Gayo"), std::optional<std::int64_t>(0));
  EXPECT_EQ(*storage_->count_of("Medan", "Toraja"), std::nullopt);
  EXPECT_EQ(count_rows("events"), events);  // no back_in_stock about the past
  EXPECT_EQ(count_rows("usage_points WHERE day = " +
                       std::to_string(day_from_civil(2026, 10, 31)) + " AND count = 40"),
            1);
  // December loads as usual.
  auto dec = load("medan/2026-12.csv", "store,item,count\nMedan,Arabica Gayo,30\n");
  ASSERT_TRUE(dec.ok()) << dec.error().message();
  EXPECT_EQ(dec->changes, 1);
  EXPECT_EQ(*storage_->count_of("Medan", "Arabica Gayo"), std::optional<std::int64_t>(30));
}

// A `date` column dates the report before its first row is written, also
// when the rows are parsed ahead on a second thread: October's counts,
// arriving after November's, become history only.
TEST_F(LoaderTest, AnOlderReportByItsDateColumnNeverMovesTheCountBack) {
  for (const std::uint64_t ahead : {std::uint64_t{1} << 40, std::uint64_t{0}}) {
    SCOPED_TRACE(ahead == 0 ? "parsed ahead" : "parsed in line");
    LoaderOptions options;
    options.read_ahead_bytes = ahead;
    const std::string store = ahead == 0 ? "Padang" : "Medan";
    auto nov = load(store + "-a.csv", "date,store,item,count\n2026-11-30," + store + ",Gayo,0\n", options);
    ASSERT_TRUE(nov.ok()) << nov.error().message();
    ASSERT_EQ(nov->changes, 1);
    const std::int64_t events = count_rows("events");
    auto oct = load(store + "-b.csv",
                    "tanggal,gudang,barang,jumlah\n31/10/2026," + store + ",Gayo,40\n31/10/2026," + store +
                        ",Toraja,7\n",
                    options);
    ASSERT_TRUE(oct.ok()) << oct.error().message();
    EXPECT_EQ(oct->status, ReportStatus::kLoaded) << oct->error;
    EXPECT_EQ(oct->changes, 0);
    EXPECT_EQ(*storage_->count_of(store, "Gayo"), std::optional<std::int64_t>(0));
    EXPECT_EQ(*storage_->count_of(store, "Toraja"), std::nullopt);
    EXPECT_EQ(count_rows("events"), events);
  }
}

TEST_F(LoaderTest, SmallChunksGiveTheSameResult) {
  LoaderOptions options;
  options.chunk_bytes = 7;  // rows and fields split across reads
  auto out = load("medan.csv", kGood, options);
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(out->status, ReportStatus::kLoaded);
  EXPECT_EQ(out->rows, 3);
  auto rec = storage_->report(out->report_id);
  ASSERT_TRUE(rec.ok() && rec->has_value());
  EXPECT_EQ((*rec)->sha256, Sha256::of(kGood));
}

TEST_F(LoaderTest, ABadReportIsRejectedWithItsProblemsAndLoadsNothing) {
  // Good rows before and after the bad ones: none of them may be loaded.
  const std::string bad =
      "store,item,count\n"
      "Medan,Robusta Dairi,0\n"
      "Medan,Arabica Gayo,-1\n"
      "Makassar,Toraja,lots\n"
      "Makassar,Kalosi,3\n";
  auto out = load("bad.csv", bad);
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(out->status, ReportStatus::kRejected);
  EXPECT_NE(out->error.find("line 3, column count: '-1' is negative; a count is 0 or more"),
            std::string::npos)
      << out->error;
  EXPECT_NE(out->error.find("line 4, column count:"), std::string::npos) << out->error;
  EXPECT_EQ(std::count(out->error.begin(), out->error.end(), '\n'), 1) << out->error;
  EXPECT_EQ(out->summary().rfind("rejected: line 3, column count: '-1' is negative", 0), 0u)
      << out->summary();
  EXPECT_NE(out->summary().find("(and 1 more problem)"), std::string::npos) << out->summary();
  expect_nothing_loaded();

  auto rec = storage_->report(out->report_id);
  ASSERT_TRUE(rec.ok() && rec->has_value());
  EXPECT_EQ((*rec)->status, ReportStatus::kRejected);
  EXPECT_EQ((*rec)->path, "bad.csv");
  EXPECT_EQ((*rec)->error, out->error);
  EXPECT_EQ((*rec)->sha256, Sha256::of(bad));

  // The same rows can be loaded by a corrected report afterwards.
  auto fixed = load("fixed.csv", kGood);
  ASSERT_TRUE(fixed.ok()) << fixed.error().message();
  EXPECT_EQ(fixed->status, ReportStatus::kLoaded);
  EXPECT_EQ(fixed->rows, 3);
}

TEST_F(LoaderTest, AnEmptyReportIsRejected) {
  auto out = load("empty.csv", "");
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(out->status, ReportStatus::kRejected);
  EXPECT_EQ(out->error, "the report is empty");
  expect_nothing_loaded();
}

TEST_F(LoaderTest, ADuplicateRowIsRejectedNamingBothLines) {
  const std::string report =
      "store,item,count\n"
      "Medan,Robusta Dairi,0\n"
      "Medan,Arabica Gayo,12\n"
      "Medan,Robusta Dairi,5\n";
  auto out = load("dup-row.csv", report);
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(out->status, ReportStatus::kRejected);
  EXPECT_EQ(out->error,
            "line 4: store 'Medan' and item 'Robusta Dairi' are already on line 2; list each item "
            "once");
  expect_nothing_loaded();
}

// Keys in order are not remembered; at the first row out of order the rows
// before it are read again, so a repeat of any earlier row is still found,
// however the file is split into reads.
TEST_F(LoaderTest, DuplicatesAreFoundAfterTheRowsLeaveKeyOrder) {
  const std::string report =
      "\xEF\xBB\xBFstore,item,count\r\n"
      "Makassar,Toraja,3\r\n"
      "\r\n"
      "Medan,\"Gayo, Aceh\",12\r\n"
      "Medan,Robusta Dairi,0\r\n"
      "Medan,Kopi Luwak,1\r\n"
      "Makassar,Toraja,4\r\n"
      "Medan,Robusta Dairi,7\r\n";
  for (const std::size_t chunk : {std::size_t{7}, LoaderOptions{}.chunk_bytes}) {
    LoaderOptions options;
    options.chunk_bytes = chunk;
    auto out = load("unordered-" + std::to_string(chunk) + ".csv", report, options);
    ASSERT_TRUE(out.ok()) << out.error().message();
    EXPECT_EQ(out->status, ReportStatus::kRejected);
    EXPECT_EQ(out->error,
              "line 7: store 'Makassar' and item 'Toraja' are already on line 2; list each item "
              "once\n"
              "line 8: store 'Medan' and item 'Robusta Dairi' are already on line 5; list each "
              "item once")
        << "chunk " << chunk;
    expect_nothing_loaded();
  }
  // The same rows without the repeats load, in whatever order.
  auto out = load("unordered.csv",
                  "store,item,count\nMedan,Robusta Dairi,0\nMakassar,Toraja,3\nMedan,Kopi,1\n");
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(out->status, ReportStatus::kLoaded);
  EXPECT_EQ(out->rows, 3);
  // A repeat right after its first line is out of order too.
  auto twice = load("twice.csv", "store,item,count\nMedan,Kopi,1\nMedan,Kopi,2\n");
  ASSERT_TRUE(twice.ok()) << twice.error().message();
  EXPECT_EQ(twice->status, ReportStatus::kRejected);
  EXPECT_EQ(twice->error,
            "line 3: store 'Medan' and item 'Kopi' are already on line 2; list each item once");
}

TEST_F(LoaderTest, TheSameSizeWithOtherContentLoads) {
  // Same length as another loaded report, so the loader hashes it first;
  // the hash differs, so it is loaded as usual.
  auto first = load("a.csv", "store,item,count\nMedan,A,1\n");
  ASSERT_TRUE(first.ok()) << first.error().message();
  auto second = load("b.csv", "store,item,count\nMedan,B,2\n");
  ASSERT_TRUE(second.ok()) << second.error().message();
  EXPECT_EQ(second->status, ReportStatus::kLoaded);
  EXPECT_EQ(second->rows, 1);
  EXPECT_EQ(second->changes, 1);
}

TEST_F(LoaderTest, TheSameContentAgainIsADuplicate) {
  auto first = load("2026-11-medan.csv", kGood);
  ASSERT_TRUE(first.ok()) << first.error().message();
  ASSERT_EQ(first->status, ReportStatus::kLoaded);

  auto second = load("copy-of-medan.csv", kGood);
  ASSERT_TRUE(second.ok()) << second.error().message();
  EXPECT_EQ(second->status, ReportStatus::kDuplicate);
  EXPECT_EQ(second->duplicate_of, first->report_id);
  EXPECT_NE(second->report_id, first->report_id);
  EXPECT_EQ(second->rows, 0);
  EXPECT_EQ(second->changes, 0);
  EXPECT_EQ(second->summary(),
            "duplicate of report " + std::to_string(first->report_id) + ", nothing loaded");

  auto rec = storage_->report(second->report_id);
  ASSERT_TRUE(rec.ok() && rec->has_value());
  EXPECT_EQ((*rec)->status, ReportStatus::kDuplicate);
  EXPECT_EQ((*rec)->duplicate_of, std::optional<std::int64_t>(first->report_id));
  EXPECT_EQ((*rec)->path, "copy-of-medan.csv");
  EXPECT_EQ(count_rows("changes"), 3);  // nothing new in the change log
  EXPECT_EQ(count_rows("reports"), 2);
}

TEST_F(LoaderTest, TheSameNameAndContentAfterArchivingIsADuplicate) {
  auto first = load("medan.csv", kGood);
  ASSERT_TRUE(first.ok() && first->status == ReportStatus::kLoaded);
  ASSERT_TRUE(storage_->mark_archived(first->report_id, (dir_ / "processed/medan.csv").string()).ok());

  auto again = load("medan.csv", kGood);  // delivered once more, later
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(again->status, ReportStatus::kDuplicate);
  EXPECT_EQ(again->duplicate_of, first->report_id);
  EXPECT_FALSE(again->resumed);
}

TEST_F(LoaderTest, TheSameReportAfterACommitWithoutArchiveIsResumed) {
  auto first = load("medan.csv", kGood);
  ASSERT_TRUE(first.ok() && first->status == ReportStatus::kLoaded);
  // The process stopped here, before archiving; after the restart the same
  // file is found in the inbox again.
  clock_.advance(10min);
  auto again = load("medan.csv", kGood);
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(again->status, ReportStatus::kLoaded);
  EXPECT_TRUE(again->resumed);
  EXPECT_EQ(again->report_id, first->report_id);
  EXPECT_EQ(again->rows, 3);
  EXPECT_EQ(again->changes, 3);
  EXPECT_EQ(again->archived_path, "");
  EXPECT_EQ(count_rows("reports"), 1);  // no second ledger entry
  EXPECT_EQ(count_rows("changes"), 3);
}

TEST_F(LoaderTest, ARejectedReportSeenAgainBeforeArchivingIsResumed) {
  const std::string bad = "store,item,count\nMedan,Robusta Dairi,-1\n";
  auto first = load("bad.csv", bad);
  ASSERT_TRUE(first.ok() && first->status == ReportStatus::kRejected);
  auto again = load("bad.csv", bad);
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(again->status, ReportStatus::kRejected);
  EXPECT_TRUE(again->resumed);
  EXPECT_EQ(again->report_id, first->report_id);
  EXPECT_EQ(again->error, first->error);
  EXPECT_EQ(count_rows("reports"), 1);  // rejected (and alerted) only once
}

TEST_F(LoaderTest, ADuplicateSeenAgainBeforeArchivingIsResumed) {
  auto first = load("medan.csv", kGood);
  ASSERT_TRUE(first.ok() && first->status == ReportStatus::kLoaded);
  auto dup = load("copy.csv", kGood);
  ASSERT_TRUE(dup.ok() && dup->status == ReportStatus::kDuplicate);
  auto again = load("copy.csv", kGood);
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(again->status, ReportStatus::kDuplicate);
  EXPECT_TRUE(again->resumed);
  EXPECT_EQ(again->report_id, dup->report_id);
  EXPECT_EQ(again->duplicate_of, first->report_id);
  EXPECT_EQ(count_rows("reports"), 2);
}

TEST_F(LoaderTest, AReportAlreadyLinkedIntoTheArchiveIsResumed) {
  auto first = load("medan.csv", kGood);
  ASSERT_TRUE(first.ok() && first->status == ReportStatus::kLoaded);
  // Archiving placed the report (a hard link) and recorded it, then the
  // process stopped before the inbox copy was removed.
  const auto placed = dir_ / "processed" / "medan.csv";
  std::filesystem::create_directories(placed.parent_path());
  std::filesystem::create_hard_link(inbox() / "medan.csv", placed);
  ASSERT_TRUE(storage_->mark_archived(first->report_id, placed.string()).ok());

  Loader loader(*storage_, clock_);
  auto again = loader.load(inbox() / "medan.csv", "medan.csv");
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(again->status, ReportStatus::kLoaded);
  EXPECT_TRUE(again->resumed);
  EXPECT_EQ(again->report_id, first->report_id);
  EXPECT_EQ(again->archived_path, placed.string());
  EXPECT_EQ(count_rows("reports"), 1);
}

TEST_F(LoaderTest, ACancelledLoadLoadsNothing) {
  write_file(inbox() / "medan.csv", kGood);
  Loader loader(*storage_, clock_);
  std::atomic<bool> cancel{true};
  auto out = loader.load(inbox() / "medan.csv", "medan.csv", &cancel);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code(), ErrorCode::kCancelled);
  expect_nothing_loaded();
  EXPECT_EQ(count_rows("reports"), 0);  // recorded nowhere

  // The file is still there and loads once the flag is clear.
  cancel = false;
  auto retry = loader.load(inbox() / "medan.csv", "medan.csv", &cancel);
  ASSERT_TRUE(retry.ok()) << retry.error().message();
  EXPECT_EQ(retry->status, ReportStatus::kLoaded);
  EXPECT_FALSE(retry->resumed);
}

TEST_F(LoaderTest, AMissingFileIsNotFoundAndRecordedNowhere) {
  Loader loader(*storage_, clock_);
  auto out = loader.load(inbox() / "gone.csv", "gone.csv");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(out.error().message().find("gone.csv"), std::string::npos) << out.error().message();
  EXPECT_EQ(count_rows("reports"), 0);
}

TEST_F(LoaderTest, AReportOverTheSizeLimitIsRejected) {
  LoaderOptions options;
  options.max_report_bytes = 20;
  auto out = load("big.csv", kGood, options);
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(out->status, ReportStatus::kRejected);
  EXPECT_NE(out->error.find("inbox.max_report_bytes"), std::string::npos) << out->error;
  EXPECT_NE(out->error.find(std::to_string(kGood.size()) + " bytes"), std::string::npos)
      << out->error;
  expect_nothing_loaded();
  auto rec = storage_->report(out->report_id);
  ASSERT_TRUE(rec.ok() && rec->has_value());
  EXPECT_EQ((*rec)->status, ReportStatus::kRejected);

  // Exactly at the limit is fine.
  options.max_report_bytes = kGood.size();
  auto fits = load("fits.csv", kGood, options);
  ASSERT_TRUE(fits.ok()) << fits.error().message();
  EXPECT_EQ(fits->status, ReportStatus::kLoaded);
}

TEST_F(LoaderTest, ADirectoryIsNotAReport) {
  std::filesystem::create_directories(inbox() / "folder.csv");
  Loader loader(*storage_, clock_);
  auto out = loader.load(inbox() / "folder.csv", "folder.csv");
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(out->status, ReportStatus::kRejected);
  EXPECT_NE(out->error.find("not a regular file"), std::string::npos) << out->error;
  expect_nothing_loaded();
}

TEST_F(LoaderTest, ASymlinkOutOfTheInboxIsRejectedWhenConfined) {
  write_file(dir_ / "elsewhere" / "secret.csv", kGood);
  std::filesystem::create_symlink(dir_ / "elsewhere" / "secret.csv", inbox() / "link.csv");
  write_file(inbox() / "real.csv", kGood);
  std::filesystem::create_symlink(inbox() / "real.csv", inbox() / "inside.csv");
  LoaderOptions options;
  options.confine_to = inbox();
  Loader loader(*storage_, clock_, options);

  auto out = loader.load(inbox() / "link.csv", "link.csv");
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(out->status, ReportStatus::kRejected);
  EXPECT_NE(out->error.find("outside the inbox"), std::string::npos) << out->error;
  expect_nothing_loaded();

  auto inside = loader.load(inbox() / "inside.csv", "inside.csv");
  ASSERT_TRUE(inside.ok()) << inside.error().message();
  EXPECT_EQ(inside->status, ReportStatus::kLoaded);
}

// A name renamed back and forth between a link to a report inside the
// inbox and a link to a file outside, thousands of times while the loader
// loads it: the outside file is never opened (inotify sees every open of
// it), and nothing of it reaches the ledger.
TEST_F(LoaderTest, ASymlinkSwappedDuringTheLoadNeverReadsOutsideTheInbox) {
  const auto secret = dir_ / "elsewhere" / "secret.csv";
  write_file(secret, "SECRET_TOKEN=abc123-do-not-leak\n");
  write_file(inbox() / "real.csv", kGood);
  UniqueFd watch(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  ASSERT_TRUE(watch);
  ASSERT_GE(::inotify_add_watch(watch.get(), secret.c_str(), IN_OPEN | IN_ACCESS), 0);

  LoaderOptions options;
  options.confine_to = inbox();
  options.resume = false;
  Loader loader(*storage_, clock_, options);
  std::filesystem::create_symlink(inbox() / "real.csv", inbox() / "x.csv");

  std::atomic<bool> stop{false};
  std::atomic<long> swaps{0};
  std::thread swapper([&] {
    const std::string tmp = (inbox() / ".swap").string();
    const std::string name = (inbox() / "x.csv").string();
    for (long i = 0; !stop.load(); ++i) {
      const std::string target = (i % 2 ? secret : inbox() / "real.csv").string();
      ::unlink(tmp.c_str());
      if (::symlink(target.c_str(), tmp.c_str()) == 0 && ::rename(tmp.c_str(), name.c_str()) == 0) {
        ++swaps;
      }
    }
  });
  // Bounded by work done, not by time: at least 2000 swaps and 1000 loads,
  // both kinds of outcome seen (at most 50000 loads).
  int loaded = 0, refused = 0;
  for (int i = 0; i < 50000; ++i) {
    if (i >= 1000 && swaps.load() >= 2000 && loaded > 0 && refused > 0) break;
    auto out = loader.load(inbox() / "x.csv", "x.csv");
    if (!out) continue;  // a system failure is recorded nowhere
    EXPECT_EQ(out->error.find("SECRET"), std::string::npos) << out->error;
    if (out->status == ReportStatus::kRejected) {
      ++refused;
      EXPECT_NE(out->error.find("outside the inbox"), std::string::npos) << out->error;
    } else {
      ++loaded;
    }
  }
  stop = true;
  swapper.join();

  alignas(struct inotify_event) char buf[4096];
  const ssize_t n = ::read(watch.get(), buf, sizeof buf);
  EXPECT_LT(n, 0) << "the file outside the inbox was opened or read";
  EXPECT_GE(swaps.load(), 2000);
  EXPECT_GT(loaded, 0);
  EXPECT_GT(refused, 0);
  RawDb raw(dir_ / "stockwatch.db");
  EXPECT_EQ(raw.integer("SELECT COUNT(*) FROM reports WHERE error GLOB '*SECRET_TOKEN*'"), 0);
}

// A link into a folder that is itself a link out of the inbox is refused.
TEST_F(LoaderTest, APathThroughALinkedFolderOutOfTheInboxIsRejected) {
  write_file(dir_ / "elsewhere" / "secret.csv", kGood);
  std::filesystem::create_symlink(dir_ / "elsewhere", inbox() / "evil");
  LoaderOptions options;
  options.confine_to = inbox();
  Loader loader(*storage_, clock_, options);
  auto out = loader.load(inbox() / "evil" / "secret.csv", "evil/secret.csv");
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(out->status, ReportStatus::kRejected);
  EXPECT_NE(out->error.find("outside the inbox"), std::string::npos) << out->error;
  expect_nothing_loaded();
}

// A folder link is never followed, even an absolute one to a folder inside
// the inbox (`sub -> /srv/inbox/real`): the same rule as the scan, which
// does not enter linked folders, and the archive, which refuses them.
TEST_F(LoaderTest, APathThroughAnAbsoluteLinkToAFolderInsideTheInboxIsRejected) {
  write_file(inbox() / "real" / "x.csv", kGood);
  std::filesystem::create_directory_symlink(inbox() / "real", inbox() / "sub");
  LoaderOptions options;
  options.confine_to = inbox();
  Loader loader(*storage_, clock_, options);
  auto out = loader.load(inbox() / "sub" / "x.csv", "sub/x.csv");
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(out->status, ReportStatus::kRejected);
  EXPECT_NE(out->error.find("symbolic link to a folder"), std::string::npos) << out->error;
  expect_nothing_loaded();
}

// Removed from the inbox after it was opened: loaded from what was opened.
TEST_F(LoaderTest, AReportRemovedWhileReadIsLoadedFromItsOpenFile) {
  write_file(inbox() / "gone.csv", kGood);
  LoaderOptions options;
  options.confine_to = inbox();
  Loader loader(*storage_, clock_, options);
  auto file = loader.open(inbox() / "gone.csv");
  ASSERT_TRUE(file.ok()) << file.error().message();
  std::filesystem::remove(inbox() / "gone.csv");
  auto out = loader.load(*file, "gone.csv");
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(out->status, ReportStatus::kLoaded);
  EXPECT_EQ(out->rows, 3);
}

// --- Reading ahead on a second thread (large reports) ------------------------------

// Every report here is read with the read-ahead thread (read_ahead_bytes 0)
// and small chunks, so rows cross batch and chunk boundaries.
LoaderOptions read_ahead(std::size_t chunk = 64) {
  LoaderOptions options;
  options.read_ahead_bytes = 0;
  options.chunk_bytes = chunk;
  return options;
}

std::string many_rows(int n, int zero_every) {
  std::string out = "store,item,count\n";
  for (int i = 0; i < n; ++i) {
    out += "Gudang-" + std::to_string(i / 1000) + ",Produk-" + std::to_string(100000 + i) + "," +
           std::to_string(i % zero_every == 0 ? 0 : i % 97 + 1) + "\n";
  }
  return out;
}

TEST_F(LoaderTest, ReadAheadLoadsEveryRowInOrder) {
  const std::string report = many_rows(10000, 500);
  auto out = load("big.csv", report, read_ahead());
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(out->status, ReportStatus::kLoaded);
  EXPECT_EQ(out->rows, 10000);
  EXPECT_EQ(out->changes, 10000);
  EXPECT_EQ(count_rows("inventory"), 10000);
  EXPECT_EQ(count_rows("inventory WHERE count = 0"), 20);
  // The change log is in file order.
  RawDb raw(dir_ / "stockwatch.db");
  EXPECT_EQ(raw.integer("SELECT COUNT(*) FROM changes c1 JOIN changes c2 ON c2.seq = c1.seq + 1 "
                        "WHERE c2.item < c1.item AND c2.store = c1.store"),
            0);
  auto rec = storage_->report(out->report_id);
  ASSERT_TRUE(rec.ok() && rec->has_value());
  EXPECT_EQ((*rec)->sha256, Sha256::of(report));
  EXPECT_EQ((*rec)->size, static_cast<std::int64_t>(report.size()));
}

// A report far out of key order, sorted through many spilled runs (runs of
// 4 KiB): the inventory is what the same rows in key order give, the change
// log keeps the report's order (first a prefix written as it came, then the
// sorted rest), and the sort's temporary file leaves nothing behind.
TEST_F(LoaderTest, RowsOutOfKeyOrderAreSortedInRunsAndTheChangeLogKeepsTheReportsOrder) {
  std::vector<std::string> rows;
  for (int s = 0; s < 7; ++s) {
    for (int i = 0; i < 300; ++i) {
      rows.push_back("Store-" + std::to_string(s) + ",Item-" + std::to_string(1000 + i) + "," +
                     std::to_string((s * 31 + i * 7) % 50));
    }
  }
  // In order for the first 100 rows, then shuffled.
  std::mt19937 rng(5);
  std::shuffle(rows.begin() + 100, rows.end(), rng);
  std::string report = "store,item,count\n";
  for (const auto& r : rows) report += r + "\n";
  const auto sort_dir = dir_ / "sort";
  std::filesystem::create_directories(sort_dir);
  LoaderOptions options;
  options.sort_run_bytes = 4 * 1024;
  options.sort_dir = sort_dir;
  auto out = load("shuffled.csv", report, options);
  ASSERT_TRUE(out.ok()) << out.error().message();
  ASSERT_EQ(out->status, ReportStatus::kLoaded) << out->error;
  EXPECT_EQ(out->rows, static_cast<std::int64_t>(rows.size()));
  EXPECT_EQ(out->changes, static_cast<std::int64_t>(rows.size()));
  EXPECT_TRUE(std::filesystem::is_empty(sort_dir));

  RawDb raw(dir_ / "stockwatch.db");
  std::vector<std::string> expected = rows;
  for (auto& r : expected) std::replace(r.begin(), r.end(), ',', '|');
  EXPECT_EQ(raw.rows("SELECT store, item, new_count FROM changes ORDER BY seq"), expected);
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(raw.rows("SELECT store, item, count FROM inventory ORDER BY store, item"), expected);

  // The same rows again, shuffled otherwise, with other counts for some:
  // only those change, logged in the report's order with their old counts.
  std::shuffle(rows.begin(), rows.end(), rng);
  std::string again = "store,item,count\n";
  std::vector<std::string> changed;
  for (std::size_t k = 0; k < rows.size(); ++k) {
    std::string r = rows[k];
    if (k % 100 == 3) {
      const auto comma = r.rfind(',');
      const std::string key = r.substr(0, comma);
      changed.push_back(key + "," + r.substr(comma + 1) + ",77");
      r = key + ",77";
    }
    again += r + "\n";
  }
  auto second = load("shuffled-again.csv", again, options);
  ASSERT_TRUE(second.ok()) << second.error().message();
  ASSERT_EQ(second->status, ReportStatus::kLoaded) << second->error;
  EXPECT_EQ(second->changes, static_cast<std::int64_t>(changed.size()));
  for (auto& r : changed) std::replace(r.begin(), r.end(), ',', '|');
  EXPECT_EQ(raw.rows("SELECT store, item, old_count, new_count FROM changes WHERE report_id = " +
                     std::to_string(second->report_id) + " ORDER BY seq"),
            changed);
}

// A sorted report's change records come back in the report's order
// whether its stores are new to the inventory (the records are its rows as
// they came, no second sort) or not (sorted back by line, with their old
// counts), and when its first rows were written before it left key order.
TEST_F(LoaderTest, ChangeRecordsFollowTheLinesForNewStoresKnownStoresAndBoth) {
  const auto sort_dir = dir_ / "sort";
  std::filesystem::create_directories(sort_dir);
  LoaderOptions options;
  options.sort_run_bytes = 4 * 1024;
  options.sort_dir = sort_dir;
  std::mt19937 rng(9);
  const auto report = [&](const std::vector<std::string>& rows) {
    std::string r = "store,item,count\n";
    for (const auto& row : rows) r += row + "\n";
    return r;
  };
  const auto logged = [&](std::int64_t report_id) {
    RawDb raw(dir_ / "stockwatch.db");
    return raw.rows("SELECT store, item, coalesce(old_count, -1), new_count FROM changes "
                    "WHERE report_id = " + std::to_string(report_id) + " ORDER BY seq");
  };
  // 1. Makassar, new: shuffled, 1,500 rows.
  std::vector<std::string> first;
  for (int i = 0; i < 1500; ++i) {
    first.push_back("Makassar,Item-" + std::to_string(1000 + i) + "," + std::to_string(i % 40));
  }
  std::shuffle(first.begin(), first.end(), rng);
  auto one = load("one.csv", report(first), options);
  ASSERT_TRUE(one.ok()) << one.error().message();
  ASSERT_EQ(one->status, ReportStatus::kLoaded) << one->error;
  std::vector<std::string> want;
  for (const auto& r : first) {
    const auto c = r.rfind(',');
    want.push_back(r.substr(0, c) + ",-1," + r.substr(c + 1));
  }
  for (auto& w : want) std::replace(w.begin(), w.end(), ',', '|');
  EXPECT_EQ(logged(one->report_id), want);

  // 2. Makassar again (known, every 10th count changed) and Medan (new),
  // shuffled together: Makassar's records carry their old counts.
  std::vector<std::string> second;
  std::vector<std::string> want2;
  for (int i = 0; i < 1500; ++i) {
    const std::string item = "Item-" + std::to_string(1000 + i);
    second.push_back("Makassar," + item + "," + std::to_string(i % 10 == 0 ? 99 : i % 40));
    second.push_back("Medan," + item + "," + std::to_string(i % 7));
  }
  std::shuffle(second.begin(), second.end(), rng);
  for (const auto& r : second) {
    const auto c = r.rfind(',');
    const std::string key = r.substr(0, c), count = r.substr(c + 1);
    if (key.rfind("Medan,", 0) == 0) {
      want2.push_back(key + ",-1," + count);
    } else if (count == "99") {
      const int i = std::stoi(key.substr(key.find('-') + 1)) - 1000;
      want2.push_back(key + "," + std::to_string(i % 40) + ",99");
    }
  }
  for (auto& w : want2) std::replace(w.begin(), w.end(), ',', '|');
  auto two = load("two.csv", report(second), options);
  ASSERT_TRUE(two.ok()) << two.error().message();
  ASSERT_EQ(two->status, ReportStatus::kLoaded) << two->error;
  EXPECT_EQ(logged(two->report_id), want2);

  // 3. Two new stores, 1,200 rows in key order (written as they come, past
  // the held rows), then 1,200 shuffled ones of a third new store and the
  // same two stores.
  std::vector<std::string> third;
  for (const std::string store : {"Ambon", "Bitung"}) {
    for (int i = 0; i < 600; ++i) {
      third.push_back(store + ",Item-" + std::to_string(1000 + i) + ",5");
    }
  }
  std::vector<std::string> rest;
  for (int i = 0; i < 400; ++i) {
    rest.push_back("Ambon,Item-" + std::to_string(2000 + i) + ",6");
    rest.push_back("Bitung,Item-" + std::to_string(2000 + i) + ",7");
    rest.push_back("Ternate,Item-" + std::to_string(2000 + i) + ",8");
  }
  std::shuffle(rest.begin(), rest.end(), rng);
  third.insert(third.end(), rest.begin(), rest.end());
  std::vector<std::string> want3;
  for (const auto& r : third) {
    const auto c = r.rfind(',');
    want3.push_back(r.substr(0, c) + ",-1," + r.substr(c + 1));
  }
  for (auto& w : want3) std::replace(w.begin(), w.end(), ',', '|');
  auto three = load("three.csv", report(third), options);
  ASSERT_TRUE(three.ok()) << three.error().message();
  ASSERT_EQ(three->status, ReportStatus::kLoaded) << three->error;
  EXPECT_EQ(logged(three->report_id), want3);
  EXPECT_TRUE(std::filesystem::is_empty(sort_dir));
}

// A report grouped by store (stores not in alphabetical order) is written
// as it comes: the sort is never used (its folder does not exist, and runs
// of 4 KiB would need it). One item by item for every store is sorted. In
// both the change log is in the report's order.
TEST_F(LoaderTest, RowsGroupedByStoreAreWrittenWithoutSortingItemByItemSorted) {
  // The item-by-item report comes second, with other counts: every row
  // changes again.
  const auto row = [](int s, int i, int more) {
    return "Store-" + std::to_string(s) + ",Item-" + std::to_string(1000 + i) + "," +
           std::to_string((s * 31 + i * 7) % 50 + more);
  };
  std::vector<std::string> by_store, by_item;
  for (const int s : {4, 1, 6, 0, 3, 5, 2}) {
    for (int i = 0; i < 300; ++i) by_store.push_back(row(s, i, 0));
  }
  for (int i = 0; i < 300; ++i) {
    for (const int s : {4, 1, 6, 0, 3, 5, 2}) by_item.push_back(row(s, i, 100));
  }
  LoaderOptions options;
  options.sort_run_bytes = 4 * 1024;
  for (const auto* rows : {&by_store, &by_item}) {
    options.sort_dir = dir_ / (rows == &by_store ? "no-such-folder" : "");
    std::string report = "store,item,count\n";
    for (const auto& r : *rows) report += r + "\n";
    auto out = load(rows == &by_store ? "by-store.csv" : "by-item.csv", report, options);
    ASSERT_TRUE(out.ok()) << out.error().message();
    ASSERT_EQ(out->status, ReportStatus::kLoaded) << out->error;
    EXPECT_EQ(out->changes, static_cast<std::int64_t>(rows->size()));
    RawDb raw(dir_ / "stockwatch.db");
    std::vector<std::string> expected = *rows;
    for (auto& r : expected) std::replace(r.begin(), r.end(), ',', '|');
    EXPECT_EQ(raw.rows("SELECT store, item, new_count FROM changes WHERE report_id = " +
                       std::to_string(out->report_id) + " ORDER BY seq"),
              expected);
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(raw.rows("SELECT store, item, count FROM inventory ORDER BY store, item"), expected);
  }
}

// Many stores taking turns are sorted; a store whose items go back is
// sorted too, and its repeats are found.
TEST_F(LoaderTest, ManyStoresTakingTurnsOrAStoreGoingBackAreSorted) {
  std::vector<std::string> rows;
  for (int i = 0; i < 20; ++i) {
    for (int s = 0; s < 100; ++s) {
      rows.push_back("S" + std::to_string(s) + ",I" + std::to_string(100 + i) + "," +
                     std::to_string(i));
    }
  }
  std::string report = "store,item,count\n";
  for (const auto& r : rows) report += r + "\n";
  LoaderOptions options;
  options.sort_run_bytes = 4 * 1024;
  auto out = load("many-stores.csv", report, options);
  ASSERT_TRUE(out.ok()) << out.error().message();
  ASSERT_EQ(out->status, ReportStatus::kLoaded) << out->error;
  RawDb raw(dir_ / "stockwatch.db");
  std::vector<std::string> expected = rows;
  for (auto& r : expected) std::replace(r.begin(), r.end(), ',', '|');
  EXPECT_EQ(raw.rows("SELECT store, item, new_count FROM changes ORDER BY seq"), expected);

  auto back = load("store-back.csv",
                   "store,item,count\nB,1,1\nA,1,1\nB,2,1\nA,2,1\nB,1,5\nA,3,1\n");
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(back->status, ReportStatus::kRejected);
  EXPECT_EQ(back->error,
            "line 6: store 'B' and item '1' are already on line 2; list each item once");
}

// Repeats far apart in a report sorted through many runs are reported with
// both lines, in line order; past the cap of problems they are counted.
TEST_F(LoaderTest, DuplicatesAcrossSortedRunsAreReportedInLineOrderAndCounted) {
  std::string report = "store,item,count\n";
  for (int i = 0; i < 400; ++i) report += "Z,filler-" + std::to_string(999 - i) + ",1\n";
  // Lines 402..: Medan twice, repeats of filler rows of lines 2..6.
  report += "Medan,Gayo,1\nMedan,Gayo,2\n";
  for (int i = 0; i < 5; ++i) report += "Z,filler-" + std::to_string(999 - i) + ",3\n";
  LoaderOptions options;
  options.sort_run_bytes = 4 * 1024;
  options.limits.max_problems = 4;
  auto out = load("repeats.csv", report, options);
  ASSERT_TRUE(out.ok()) << out.error().message();
  ASSERT_EQ(out->status, ReportStatus::kRejected);
  EXPECT_EQ(out->error,
            "line 403: store 'Medan' and item 'Gayo' are already on line 402; list each item once\n"
            "line 404: store 'Z' and item 'filler-999' are already on line 2; list each item once\n"
            "line 405: store 'Z' and item 'filler-998' are already on line 3; list each item once\n"
            "line 406: store 'Z' and item 'filler-997' are already on line 4; list each item once\n"
            "... and 2 more problems");
  expect_nothing_loaded();
}

TEST_F(LoaderTest, ReadAheadFindsProblemsAndDuplicatesAsInline) {
  // A duplicate far from its first line (out of key order: the rows before
  // are read again while the reader thread is ahead), and a bad count.
  std::string report = many_rows(6000, 1000);
  report += "Gudang-0,Produk-100007,5\n";
  report += "Gudang-9,Produk-1,1.000\n";
  for (const auto& options : {read_ahead(), read_ahead(7), LoaderOptions{}}) {
    auto out = load("dups-" + std::to_string(options.chunk_bytes) + "-" +
                        std::to_string(options.read_ahead_bytes) + ".csv",
                    report, options);
    ASSERT_TRUE(out.ok()) << out.error().message();
    EXPECT_EQ(out->status, ReportStatus::kRejected);
    EXPECT_EQ(out->error,
              "line 6002: store 'Gudang-0' and item 'Produk-100007' are already on line 9; list "
              "each item once\n"
              "line 6003, column count: '1.000' is not a whole number; write 1000")
        << out->error;
    expect_nothing_loaded();
  }
}

TEST_F(LoaderTest, ReadAheadStopsWhenCancelled) {
  write_file(inbox() / "big.csv", many_rows(20000, 100));
  Loader loader(*storage_, clock_, read_ahead(4096));
  std::atomic<bool> cancel{true};
  auto out = loader.load(inbox() / "big.csv", "big.csv", &cancel);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code(), ErrorCode::kCancelled);
  expect_nothing_loaded();
  cancel = false;
  auto retry = loader.load(inbox() / "big.csv", "big.csv", &cancel);
  ASSERT_TRUE(retry.ok()) << retry.error().message();
  EXPECT_EQ(retry->rows, 20000);
}

}  // namespace
}  // namespace stockwatch
