// Archiving handled reports out of the inbox: keeping the relative path,
// never overwriting, error files for rejected reports, and delete mode.
#include "pipeline/archive.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "os/unique_fd.hpp"
#include "test_util.hpp"

namespace stockwatch {
namespace {

namespace fs = std::filesystem;
using test::files_under;
using test::read_file;
using test::TempDir;
using test::write_file;

class ArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.processed = dir_ / "processed";
    options_.failed = dir_ / "failed";
    fs::create_directories(inbox());
  }

  [[nodiscard]] fs::path inbox() const { return dir_ / "inbox"; }

  // Puts a report at inbox/<relative> and archives it.
  Result<fs::path> archive(const std::string& relative, const std::string& content,
                           bool rejected = false, const std::string& error = "") {
    write_file(inbox() / relative, content);
    return archive_report(options_, inbox() / relative, relative, rejected, error);
  }

  TempDir dir_{"archive"};
  ArchiveOptions options_;
};

TEST_F(ArchiveTest, MovesKeepingTheRelativePath) {
  auto where = archive("2026/11/medan.csv", "store,item,count\nMedan,Robusta Dairi,0\n");
  ASSERT_TRUE(where.ok()) << where.error().message();
  EXPECT_EQ(*where, options_.processed / "2026/11/medan.csv");
  EXPECT_EQ(read_file(*where), "store,item,count\nMedan,Robusta Dairi,0\n");
  EXPECT_FALSE(fs::exists(inbox() / "2026/11/medan.csv"));
  EXPECT_TRUE(fs::is_directory(inbox() / "2026/11"));  // the inbox folders stay
  EXPECT_EQ(files_under(options_.processed), std::vector<std::string>{"2026/11/medan.csv"});
  EXPECT_TRUE(files_under(options_.failed).empty());
}

TEST_F(ArchiveTest, ATakenNameGetsANumberAndNothingIsOverwritten) {
  auto a = archive("2026-11.csv", "first\n");
  auto b = archive("2026-11.csv", "second\n");
  auto c = archive("2026-11.csv", "third\n");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(*a, options_.processed / "2026-11.csv");
  EXPECT_EQ(*b, options_.processed / "2026-11.1.csv");
  EXPECT_EQ(*c, options_.processed / "2026-11.2.csv");
  EXPECT_EQ(read_file(*a), "first\n");
  EXPECT_EQ(read_file(*b), "second\n");
  EXPECT_EQ(read_file(*c), "third\n");
  EXPECT_EQ(files_under(options_.processed),
            (std::vector<std::string>{"2026-11.1.csv", "2026-11.2.csv", "2026-11.csv"}));

  // Something else already using a numbered name is skipped, not replaced.
  write_file(options_.processed / "2026-11.3.csv", "someone else's\n");
  auto d = archive("2026-11.csv", "fourth\n");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, options_.processed / "2026-11.4.csv");
  EXPECT_EQ(read_file(options_.processed / "2026-11.3.csv"), "someone else's\n");
}

TEST_F(ArchiveTest, NumberedNamesInSubfoldersAndWithoutExtension) {
  auto a = archive("medan/stock", "a\n");
  auto b = archive("medan/stock", "b\n");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, options_.processed / "medan/stock");
  EXPECT_EQ(*b, options_.processed / "medan/stock.1");
  EXPECT_EQ(read_file(*b), "b\n");
}

TEST_F(ArchiveTest, ARejectedReportGoesToFailedWithAnErrorFile) {
  const std::string error =
      "line 3, column count: '-1' is negative; a count is 0 or more\nline 4: the item is empty";
  auto where = archive("2026/bad.csv", "store,item,count\n", true, error);
  ASSERT_TRUE(where.ok()) << where.error().message();
  EXPECT_EQ(*where, options_.failed / "2026/bad.csv");
  EXPECT_EQ(read_file(*where), "store,item,count\n");
  EXPECT_EQ(read_file(options_.failed / "2026/bad.csv.error.txt"), error + "\n");
  EXPECT_FALSE(fs::exists(inbox() / "2026/bad.csv"));
  EXPECT_TRUE(files_under(options_.processed).empty());

  // The same name again: numbered, with its own error file.
  auto again = archive("2026/bad.csv", "store,item,count\n\n", true, "the report has a header but no rows");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, options_.failed / "2026/bad.1.csv");
  EXPECT_EQ(read_file(options_.failed / "2026/bad.1.csv.error.txt"),
            "the report has a header but no rows\n");
  EXPECT_EQ(read_file(options_.failed / "2026/bad.csv.error.txt"), error + "\n");
  EXPECT_EQ(files_under(options_.failed),
            (std::vector<std::string>{"2026/bad.1.csv", "2026/bad.1.csv.error.txt",
                                      "2026/bad.csv", "2026/bad.csv.error.txt"}));
}

// Product bug (src/archive.cpp, archive_report(): write_error_file() opens
// "<archived name>.error.txt" with O_TRUNC): when failed/ already holds an
// error file of that name without its report (left by inbox.archive =
// "delete" before a switch to "move"), the old error text is overwritten,
// which breaks "never overwrites".
TEST_F(ArchiveTest, AnExistingErrorFileIsNeverOverwritten) {
  write_file(options_.failed / "bad.csv.error.txt", "the report is empty\n");
  auto where = archive("bad.csv", "store,item,count\nMedan,,1\n", true, "line 2, column item: the item is empty");
  ASSERT_TRUE(where.ok()) << where.error().message();
  EXPECT_EQ(read_file(options_.failed / "bad.csv.error.txt"), "the report is empty\n");
  // The new report's reason is kept too, beside wherever the report went.
  fs::path err = *where;
  err += ".error.txt";
  EXPECT_EQ(read_file(err), "line 2, column item: the item is empty\n");
}

TEST_F(ArchiveTest, DeleteModeRemovesTheReport) {
  options_.delete_reports = true;
  auto where = archive("2026/11/medan.csv", "store,item,count\nMedan,Robusta Dairi,0\n");
  ASSERT_TRUE(where.ok()) << where.error().message();
  EXPECT_TRUE(where->empty());
  EXPECT_FALSE(fs::exists(inbox() / "2026/11/medan.csv"));
  EXPECT_TRUE(files_under(options_.processed).empty());
  EXPECT_TRUE(files_under(options_.failed).empty());
}

TEST_F(ArchiveTest, DeleteModeStillWritesTheErrorFileForRejectedReports) {
  options_.delete_reports = true;
  auto where = archive("2026/bad.csv", "store,item,count\n", true, "the report has a header but no rows");
  ASSERT_TRUE(where.ok()) << where.error().message();
  EXPECT_TRUE(where->empty());
  EXPECT_FALSE(fs::exists(inbox() / "2026/bad.csv"));
  EXPECT_EQ(files_under(options_.failed), std::vector<std::string>{"2026/bad.csv.error.txt"});
  EXPECT_EQ(read_file(options_.failed / "2026/bad.csv.error.txt"),
            "the report has a header but no rows\n");

  // Again: a second error file, the first one kept.
  auto again = archive("2026/bad.csv", "x\n", true, "the report is empty");
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(files_under(options_.failed),
            (std::vector<std::string>{"2026/bad.csv.1.error.txt", "2026/bad.csv.error.txt"}));
  EXPECT_EQ(read_file(options_.failed / "2026/bad.csv.error.txt"),
            "the report has a header but no rows\n");
  EXPECT_EQ(read_file(options_.failed / "2026/bad.csv.1.error.txt"), "the report is empty\n");
}

TEST_F(ArchiveTest, AReportPlacedBeforeAnInterruptionIsNotPlacedTwice) {
  // The archiving step linked the report into processed/ and stopped before
  // removing it from the inbox.
  write_file(inbox() / "medan.csv", "store,item,count\nMedan,Robusta Dairi,0\n");
  fs::create_directories(options_.processed);
  fs::create_hard_link(inbox() / "medan.csv", options_.processed / "medan.csv");
  auto where = archive_report(options_, inbox() / "medan.csv", "medan.csv", false, "");
  ASSERT_TRUE(where.ok()) << where.error().message();
  EXPECT_EQ(*where, options_.processed / "medan.csv");
  EXPECT_EQ(files_under(options_.processed), std::vector<std::string>{"medan.csv"});
  EXPECT_FALSE(fs::exists(inbox() / "medan.csv"));
}

TEST_F(ArchiveTest, WhereTheReportWentIsToldWhileItsNameIsStillInTheInbox) {
  // The ledger notes the archived copy in `placed`: a crash after that
  // leaves a report the loader recognises as that copy.
  write_file(inbox() / "medan.csv", "store,item,count\nMedan,Robusta Dairi,0\n");
  std::vector<std::string> told;
  auto where = archive_report(options_, inbox() / "medan.csv", "medan.csv", false, "", -1,
                              [&](const fs::path& placed) {
                                told.push_back(placed.string());
                                EXPECT_TRUE(fs::exists(inbox() / "medan.csv"));
                                EXPECT_TRUE(fs::equivalent(placed, inbox() / "medan.csv"));
                              });
  ASSERT_TRUE(where.ok()) << where.error().message();
  EXPECT_EQ(told, std::vector<std::string>{where->string()});
  EXPECT_FALSE(fs::exists(inbox() / "medan.csv"));
  // In delete mode nothing is placed, and nothing is told.
  options_.delete_reports = true;
  write_file(inbox() / "bali.csv", "store,item,count\nBali,Kopi,1\n");
  told.clear();
  auto deleted = archive_report(options_, inbox() / "bali.csv", "bali.csv", false, "", -1,
                                [&](const fs::path& placed) { told.push_back(placed.string()); });
  ASSERT_TRUE(deleted.ok()) << deleted.error().message();
  EXPECT_TRUE(told.empty());
  EXPECT_FALSE(fs::exists(inbox() / "bali.csv"));
}

TEST_F(ArchiveTest, AMissingReportIsAnError) {
  auto where = archive_report(options_, inbox() / "gone.csv", "gone.csv", false, "");
  ASSERT_FALSE(where.ok());
  EXPECT_EQ(where.error().code(), ErrorCode::kNotFound) << where.error().message();
  EXPECT_TRUE(files_under(options_.processed).empty());
}

// --- Archiving what was read (the loader's descriptor) ------------------------------

UniqueFd open_read(const fs::path& file) {
  return UniqueFd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
}

TEST_F(ArchiveTest, AReportRemovedWhileReadIsArchivedFromWhatWasRead) {
  write_file(inbox() / "gone.csv", "store,item,count\nMedan,Kopi,3\n");
  UniqueFd fd = open_read(inbox() / "gone.csv");
  ASSERT_TRUE(fd);
  fs::remove(inbox() / "gone.csv");  // removed while the loader had it open
  auto where = archive_report(options_, inbox() / "gone.csv", "gone.csv", false, "", fd.get());
  ASSERT_TRUE(where.ok()) << where.error().message();
  EXPECT_EQ(*where, options_.processed / "gone.csv");
  EXPECT_EQ(read_file(*where), "store,item,count\nMedan,Kopi,3\n");
}

TEST_F(ArchiveTest, ArchivesWhatWasReadNotWhatTheNameNamesNow) {
  write_file(inbox() / "x.csv", "what was read\n");
  UniqueFd fd = open_read(inbox() / "x.csv");
  ASSERT_TRUE(fd);
  // Replaced under the same name while it was read: a new report.
  write_file(inbox() / ".next", "a new report\n");
  fs::rename(inbox() / ".next", inbox() / "x.csv");
  auto where = archive_report(options_, inbox() / "x.csv", "x.csv", false, "", fd.get());
  ASSERT_TRUE(where.ok()) << where.error().message();
  EXPECT_EQ(read_file(*where), "what was read\n");
  EXPECT_EQ(read_file(inbox() / "x.csv"), "a new report\n") << "the new report stays";

  // A symbolic link that was followed: the content read is archived, the
  // link leaves the inbox, its target is left alone.
  write_file(inbox() / "data" / "real.txt", "linked\n");
  fs::create_symlink(inbox() / "data" / "real.txt", inbox() / "link.csv");
  UniqueFd linked = open_read(inbox() / "link.csv");
  auto placed = archive_report(options_, inbox() / "link.csv", "link.csv", false, "", linked.get());
  ASSERT_TRUE(placed.ok()) << placed.error().message();
  EXPECT_FALSE(fs::is_symlink(*placed));
  EXPECT_EQ(read_file(*placed), "linked\n");
  EXPECT_FALSE(fs::exists(fs::symlink_status(inbox() / "link.csv")));
  EXPECT_EQ(read_file(inbox() / "data" / "real.txt"), "linked\n");
}

TEST_F(ArchiveTest, ARejectedSymlinkKeepsTheLinkAndAnErrorFileWithALineEnd) {
  write_file(dir_ / "secret.csv", "SECRET\n");
  fs::create_symlink(dir_ / "secret.csv", inbox() / "out.csv");
  auto where = archive_report(options_, inbox() / "out.csv", "out.csv", true,
                              "the report is a symbolic link to /x, outside the inbox");
  ASSERT_TRUE(where.ok()) << where.error().message();
  EXPECT_TRUE(fs::is_symlink(*where));
  const std::string error = read_file(fs::path(where->string() + ".error.txt"));
  ASSERT_FALSE(error.empty());
  EXPECT_EQ(error.back(), '\n');
}

// --- A folder swapped for a link out of the inbox ----------------------------------

// Its folder `evil` became a link to a folder outside the inbox after the
// report was found; whatever evil/x.csv reaches now must not be touched.
class ArchiveSwappedFolderTest : public ArchiveTest {
 protected:
  void SetUp() override {
    ArchiveTest::SetUp();
    options_.inbox = inbox();
    write_file(dir_ / "outside" / "x.csv", "SECRET=abc\n");
    fs::create_symlink(dir_ / "outside", inbox() / "evil");
  }
  void ExpectOutsideUntouched() {
    EXPECT_EQ(read_file(dir_ / "outside" / "x.csv"), "SECRET=abc\n");
    EXPECT_TRUE(files_under(options_.failed).empty());
    EXPECT_TRUE(files_under(options_.processed).empty());
    EXPECT_EQ(files_under(dir_ / "outside"), std::vector<std::string>{"x.csv"});
  }
};

TEST_F(ArchiveSwappedFolderTest, ARefusedReportIsNeitherMovedNorRemoved) {
  auto where = archive_report(options_, inbox() / "evil/x.csv", "evil/x.csv", true,
                              "the report's path leads outside the inbox");
  ASSERT_FALSE(where.ok());
  EXPECT_EQ(where.error().code(), ErrorCode::kInvalidInput) << where.error().message();
  EXPECT_EQ(where.error().message().find((dir_ / "outside").string()), std::string::npos)
      << "the message names no absolute path: " << where.error().message();
  ExpectOutsideUntouched();
}

TEST_F(ArchiveSwappedFolderTest, DeleteModeRemovesNothing) {
  options_.delete_reports = true;
  auto where = archive_report(options_, inbox() / "evil/x.csv", "evil/x.csv", true, "refused");
  ASSERT_FALSE(where.ok());
  EXPECT_EQ(where.error().code(), ErrorCode::kInvalidInput);
  ExpectOutsideUntouched();
}

TEST_F(ArchiveSwappedFolderTest, AReportReadBeforeTheSwapIsNotArchivedThroughIt) {
  // Read from the real folder, which was then renamed away and replaced by
  // the link: neither the name nor what it reaches now is touched.
  write_file(inbox() / "evil.real" / "x.csv", "store,item,count\nMedan,Kopi,3\n");
  UniqueFd fd = open_read(inbox() / "evil.real" / "x.csv");
  ASSERT_TRUE(fd);
  auto where = archive_report(options_, inbox() / "evil/x.csv", "evil/x.csv", false, "", fd.get());
  ASSERT_FALSE(where.ok());
  EXPECT_EQ(where.error().code(), ErrorCode::kInvalidInput);
  ExpectOutsideUntouched();
}

TEST_F(ArchiveTest, RemovalLeavesANewReportUnderTheNameAndNoHoldingName) {
  options_.inbox = inbox();
  write_file(inbox() / "sub" / "x.csv", "what was read\n");
  UniqueFd fd = open_read(inbox() / "sub" / "x.csv");
  ASSERT_TRUE(fd);
  write_file(inbox() / "sub" / ".next", "a new report\n");
  fs::rename(inbox() / "sub" / ".next", inbox() / "sub" / "x.csv");
  auto where = archive_report(options_, inbox() / "sub/x.csv", "sub/x.csv", false, "", fd.get());
  ASSERT_TRUE(where.ok()) << where.error().message();
  EXPECT_EQ(read_file(*where), "what was read\n");
  EXPECT_EQ(read_file(inbox() / "sub" / "x.csv"), "a new report\n");
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(inbox() / "sub")) left.push_back(e.path().filename());
  EXPECT_EQ(left, std::vector<std::string>{"x.csv"}) << "no holding name stays behind";

  // The file that was read is removed, through the holding name too.
  UniqueFd again = open_read(inbox() / "sub" / "x.csv");
  auto second = archive_report(options_, inbox() / "sub/x.csv", "sub/x.csv", false, "", again.get());
  ASSERT_TRUE(second.ok()) << second.error().message();
  EXPECT_TRUE(fs::is_empty(inbox() / "sub"));
}

}  // namespace
}  // namespace stockwatch
