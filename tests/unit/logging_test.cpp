// Journal detection: JOURNAL_STREAM counts only when it names the very file
// standard error is open on (systemd.exec(5)).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "daemon/logging.hpp"
#include "test_util.hpp"

namespace stockwatch {
namespace {

class JournalStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test::write_file(dir_ / "stream", "");
    fd_ = ::open((dir_ / "stream").c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd_, 0);
    struct stat st {};
    ASSERT_EQ(::fstat(fd_, &st), 0);
    dev_ = std::to_string(st.st_dev);
    ino_ = std::to_string(st.st_ino);
  }
  void TearDown() override { ::close(fd_); }

  test::TempDir dir_{"journal"};
  int fd_ = -1;
  std::string dev_, ino_;
};

TEST_F(JournalStreamTest, MatchesTheDeviceAndInodeOfTheDescriptor) {
  EXPECT_TRUE(is_journal_stream((dev_ + ":" + ino_).c_str(), fd_));
}

TEST_F(JournalStreamTest, AnotherFileOrNoVariableIsNotTheJournal) {
  EXPECT_FALSE(is_journal_stream(nullptr, fd_));
  EXPECT_FALSE(is_journal_stream((dev_ + ":" + std::to_string(std::stoull(ino_) + 1)).c_str(), fd_));
  EXPECT_FALSE(is_journal_stream((dev_ + ":" + ino_).c_str(), -1));
}

TEST_F(JournalStreamTest, MalformedValuesAreNotTheJournal) {
  for (const std::string& bad : std::vector<std::string>{"", "1", ":", "x:y", dev_ + ":" + ino_ + "x",
                                                          dev_ + ":" + ino_ + ":"}) {
    EXPECT_FALSE(is_journal_stream(bad.c_str(), fd_)) << bad;
  }
}

}  // namespace
}  // namespace stockwatch
