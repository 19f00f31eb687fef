// The single-instance lock: one holder per database, the holder's pid in
// the refusal, released when the holder goes; other connections unhindered.
#include "os/pid_lock.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "store/storage.hpp"
#include "test_util.hpp"

namespace stockwatch {
namespace {

using test::TempDir;

TEST(PidLock, ASecondHolderIsRefusedWithTheFirstOnesPid) {
  TempDir dir("lock");
  auto first = PidLock::try_acquire(dir / "x.lock", "the thing");
  ASSERT_TRUE(first.ok()) << first.error().message();
  EXPECT_EQ(test::read_file(dir / "x.lock"), std::to_string(::getpid()) + "\n");
  auto second = PidLock::try_acquire(dir / "x.lock", "the thing");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code(), ErrorCode::kBusy);
  EXPECT_NE(second.error().message().find("another stockwatch is already running on the thing"),
            std::string::npos)
      << second.error().message();
  EXPECT_NE(second.error().message().find("(pid " + std::to_string(::getpid()) + ")"),
            std::string::npos)
      << second.error().message();
}

TEST(PidLock, IsFreeAgainOnceTheHolderIsGone) {
  TempDir dir("lock");
  { auto first = PidLock::try_acquire(dir / "x.lock", "x"); ASSERT_TRUE(first.ok()); }
  // The file stays, with an old pid in it; the lock does not.
  auto again = PidLock::try_acquire(dir / "x.lock", "x");
  EXPECT_TRUE(again.ok());
}

TEST(PidLock, AMissingFolderIsNotFound) {
  TempDir dir("lock");
  auto r = PidLock::try_acquire(dir / "missing" / "x.lock", "x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
}

TEST(InstanceLock, OnePerDatabaseAndOtherConnectionsStillWork) {
  TempDir dir("lock");
  ManualClock clock;
  const auto db = dir / "stockwatch.db";
  auto lock = Storage::lock_instance(db);
  ASSERT_TRUE(lock.ok()) << lock.error().message();
  auto again = Storage::lock_instance(db);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), ErrorCode::kBusy);
  EXPECT_NE(again.error().message().find(db.string()), std::string::npos);
  // Another database is another lock.
  EXPECT_TRUE(Storage::lock_instance(dir / "other.db").ok());
  // The lock keeps no connection out (`ingest` beside `serve`).
  auto s = Storage::open(db, {}, clock);
  auto id = s->record_report(ReportRecord{});
  EXPECT_TRUE(id.ok());
  lock->reset();
  EXPECT_TRUE(Storage::lock_instance(db).ok());
}

}  // namespace
}  // namespace stockwatch
