// Journal detection: JOURNAL_STREAM counts only when it names the very file
// standard error is open on (systemd.exec(5)).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "daemon/logging.hpp"
#include "daemon/log_format.hpp"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>
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

// Every log line is one line, whatever a file name or key holds: the
// formatter escapes the message, for the terminal and for the journal.
TEST(LogFormat, AFileNameCannotForgeALogLine) {
  for (const bool journal : {false, true}) {
    std::ostringstream text;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(text);
    sink->set_formatter(make_log_formatter(journal));
    spdlog::logger logger("forge", sink);
    const std::string name = "a\n2026-12-06 09:00:00.000 info  stockwatch stopped\nb.csv";
    logger.info("{}: loaded 6 rows, 6 changes", name);
    logger.warn("{}", std::string("bell\x07 nul\0 and \xff", 16));
    const std::string out = text.str();
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << out;
    EXPECT_NE(out.find("a\\n2026-12-06 09:00:00.000 info  stockwatch stopped\\nb.csv: loaded"),
              std::string::npos) << out;
    EXPECT_NE(out.find("bell\\x07 nul\\x00 and \\xff"), std::string::npos) << out;
    if (journal) {
      EXPECT_EQ(out.rfind("<6> a\\n", 0), 0u) << out;
    }
  }
}

// Several nodes log into one place: each line names its node, in both
// formats, before the message.
TEST(LogFormat, EveryLineNamesTheNode) {
  for (const bool journal : {false, true}) {
    std::ostringstream text;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(text);
    sink->set_formatter(make_log_formatter(journal, "node-a"));
    spdlog::logger logger("node", sink);
    logger.info("stockwatch started");
    logger.error("mailer: {}", "connection lost");
    const std::string out = text.str();
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << out;
    if (journal) {
      EXPECT_EQ(out, "<6> [node-a] stockwatch started\n<3> [node-a] mailer: connection lost\n");
    } else {
      EXPECT_NE(out.find(" info  [node-a] stockwatch started\n"), std::string::npos) << out;
      EXPECT_NE(out.find(" error [node-a] mailer: connection lost\n"), std::string::npos) << out;
    }
  }
}

}  // namespace
}  // namespace stockwatch
