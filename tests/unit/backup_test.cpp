// Storage::backup: a consistent copy of a live database, never replacing a
// file, with an open report load on another connection.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "store/sqlite/sqlite_storage.hpp"
#include "test_util.hpp"

namespace stockwatch {
namespace {

namespace fs = std::filesystem;
using test::RawDb;
using test::TempDir;

class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override { storage_ = Storage::open(db_path(), {}, clock_); }

  [[nodiscard]] fs::path db_path() const { return dir_ / "stockwatch.db"; }

  // Loads one report with `rows` rows and commits it.
  void load_report(const std::string& sha, int rows) {
    auto load = storage_->begin_report();
    ASSERT_TRUE(load) << load.error().message();
    for (int i = 0; i < rows; ++i) {
      ASSERT_TRUE(load->upsert("Medan", "item " + std::to_string(i), i + 1).ok());
    }
    ReportRecord r;
    r.path = sha + ".csv";
    r.sha256 = sha;
    r.size = 100;
    r.rows = rows;
    auto id = load->commit(r);
    ASSERT_TRUE(id) << id.error().message();
  }

  TempDir dir_{"backup"};
  ManualClock clock_;
  std::unique_ptr<Storage> storage_;
};

TEST_F(BackupTest, CopiesTheCommittedStateIntoOneSelfContainedFile) {
  load_report("aaaa", 300);
  const fs::path dest = dir_ / "copy.db";
  auto info = Storage::backup(db_path(), dest);
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_EQ(info->file, dest);
  EXPECT_EQ(info->schema_version, SqliteStorage::schema_version());
  EXPECT_EQ(info->reports, 1);
  EXPECT_EQ(info->inventory_rows, 300);
  EXPECT_GT(info->pages, 0);
  EXPECT_EQ(info->page_size, RawDb(db_path()).integer("PRAGMA page_size"));

  EXPECT_FALSE(fs::exists(dir_ / "copy.db-wal"));
  RawDb copy(dest);
  EXPECT_EQ(copy.rows("PRAGMA integrity_check"), std::vector<std::string>{"ok"});
  EXPECT_EQ(copy.rows("PRAGMA journal_mode"), std::vector<std::string>{"delete"});
  EXPECT_EQ(copy.integer("SELECT COUNT(*) FROM inventory"), 300);
  EXPECT_EQ(copy.integer("SELECT COUNT(*) FROM changes"), 300);
  // Nothing is left under a temporary name.
  EXPECT_EQ(test::files_under(dir_.path()),
            (std::vector<std::string>{"copy.db", "stockwatch.db", "stockwatch.db-shm",
                                      "stockwatch.db-wal"}));
}

TEST_F(BackupTest, LeavesOutAReportThatIsStillLoading) {
  load_report("aaaa", 10);
  auto load = storage_->begin_report();
  ASSERT_TRUE(load);
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(load->upsert("Makassar", "item " + std::to_string(i), 5).ok());
  }
  ASSERT_TRUE(load->flush().ok());

  auto info = Storage::backup(db_path(), dir_ / "during.db", 1000);
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_EQ(info->reports, 1);
  EXPECT_EQ(info->inventory_rows, 10);

  ReportRecord r;
  r.path = "b.csv";
  r.sha256 = "bbbb";
  ASSERT_TRUE(load->commit(r));
  auto after = Storage::backup(db_path(), dir_ / "after.db");
  ASSERT_TRUE(after) << after.error().message();
  EXPECT_EQ(after->reports, 2);
  EXPECT_EQ(after->inventory_rows, 2010);
}

TEST_F(BackupTest, NeverReplacesAFile) {
  const fs::path dest = dir_ / "taken.db";
  test::write_file(dest, "precious");
  auto info = Storage::backup(db_path(), dest);
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().code(), ErrorCode::kInvalidInput);
  EXPECT_NE(info.error().message().find("already exists"), std::string::npos);
  EXPECT_EQ(test::read_file(dest), "precious");

  // A dangling symbolic link is a name that is taken, too.
  fs::create_symlink(dir_ / "nowhere", dir_ / "link.db");
  EXPECT_FALSE(Storage::backup(db_path(), dir_ / "link.db"));
  EXPECT_FALSE(fs::exists(dir_ / "nowhere"));
}

TEST_F(BackupTest, ReportsAMissingFolderOrDatabase) {
  auto no_dir = Storage::backup(db_path(), dir_ / "missing" / "copy.db");
  ASSERT_FALSE(no_dir);
  EXPECT_EQ(no_dir.error().code(), ErrorCode::kNotFound);

  auto no_db = Storage::backup(dir_ / "absent.db", dir_ / "copy.db");
  ASSERT_FALSE(no_db);
  EXPECT_FALSE(fs::exists(dir_ / "absent.db"));  // never created
  EXPECT_FALSE(fs::exists(dir_ / "copy.db"));
}

}  // namespace
}  // namespace stockwatch
