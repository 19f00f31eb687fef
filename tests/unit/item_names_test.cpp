// The list of distinct item names (store/item_names.hpp): kept sorted and
// each name once across reset and add, matched as the search's contract
// says (ASCII letters without case, other bytes exactly), walked a piece at
// a time, and shared by threads that each bring it up to date: read from
// the database once for all of them.
#include "store/item_names.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace stockwatch {
namespace {

using Names = std::vector<std::string>;

TEST(ItemNames, StaysSortedAndUniqueAcrossResetAndAdd) {
  ItemNames n;
  EXPECT_FALSE(n.filled());
  n.reset({"Robusta", "Arabika Gayo", "Robusta"}, 7);
  EXPECT_TRUE(n.filled());
  EXPECT_EQ(n.position(), 7);
  EXPECT_EQ(n.from("", 100), (Names{"Arabika Gayo", "Robusta"}));
  n.add({"Teh", "Arabika Gayo", "Kopi Luwak"}, 9);
  EXPECT_EQ(n.from("", 100), (Names{"Arabika Gayo", "Kopi Luwak", "Robusta", "Teh"}));
  EXPECT_EQ(n.position(), 9);
  n.add({}, 5);   // never back
  EXPECT_EQ(n.position(), 9);
}

TEST(ItemNames, MatchesAsciiLettersWithoutCaseAndEveryOtherByteExactly) {
  ItemNames n;
  n.reset({"Arabika Gayo", "arabika solok", "Kopi \xc3\x84rabika", "Teh 100%"}, 1);
  EXPECT_EQ(n.holding("ARABIKA"), (Names{"Arabika Gayo", "arabika solok"}));
  EXPECT_EQ(n.holding("\xc3\x84rabika"), (Names{"Kopi \xc3\x84rabika"}));
  EXPECT_TRUE(n.holding("\xc3\xa4rabika").empty());   // only ASCII folds
  EXPECT_EQ(n.holding("%"), (Names{"Teh 100%"}));
  EXPECT_EQ(n.holding("").size(), 4u);
  EXPECT_TRUE(n.holding("no such name").empty());
}

TEST(ItemNames, WalksTheNamesAPieceAtATime) {
  ItemNames n;
  n.reset({"d", "a", "c", "b", "e"}, 1);
  EXPECT_EQ(n.from("", 2), (Names{"a", "b"}));
  EXPECT_EQ(n.from("b", 2), (Names{"b", "c"}));
  EXPECT_EQ(n.from(std::string("c") + '\0', 2), (Names{"d", "e"}));   // after "c"
  EXPECT_EQ(n.from("bb", 10), (Names{"c", "d", "e"}));
  EXPECT_TRUE(n.from("f", 10).empty());
  EXPECT_EQ(n.size(), 5u);
}

TEST(ItemNames, BringUpToReadsEverythingOnceThenOnlyWhatIsNew) {
  ItemNames n;
  int all_reads = 0;
  std::vector<std::pair<std::int64_t, std::int64_t>> since_reads;
  const ItemNames::ReadAll all = [&]() -> Result<Names> {
    ++all_reads;
    return Names{"Robusta", "Arabika"};
  };
  const ItemNames::ReadSince since = [&](std::int64_t from, std::int64_t to) -> Result<Names> {
    since_reads.emplace_back(from, to);
    return Names{"Teh"};
  };
  ASSERT_TRUE(n.bring_up_to(10, all, since).ok());
  ASSERT_TRUE(n.bring_up_to(10, all, since).ok());   // already there: nothing read
  ASSERT_TRUE(n.bring_up_to(4, all, since).ok());    // an older view: nothing read
  EXPECT_EQ(all_reads, 1);
  EXPECT_TRUE(since_reads.empty());
  ASSERT_TRUE(n.bring_up_to(12, all, since).ok());
  EXPECT_EQ(since_reads, (std::vector<std::pair<std::int64_t, std::int64_t>>{{10, 12}}));
  EXPECT_EQ(n.from("", 10), (Names{"Arabika", "Robusta", "Teh"}));
  EXPECT_EQ(n.position(), 12);
}

TEST(ItemNames, AFailedReadLeavesTheListAsItWas) {
  ItemNames n;
  const ItemNames::ReadAll fails = []() -> Result<Names> {
    return Error(ErrorCode::kInternal, "database is locked");
  };
  const ItemNames::ReadSince none = [](std::int64_t, std::int64_t) -> Result<Names> { return Names{}; };
  auto st = n.bring_up_to(3, fails, none);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "database is locked");
  EXPECT_FALSE(n.filled());
  const ItemNames::ReadAll ok = []() -> Result<Names> { return Names{"Kopi"}; };
  ASSERT_TRUE(n.bring_up_to(3, ok, none).ok());
  EXPECT_EQ(n.from("", 10), (Names{"Kopi"}));
}

// Many threads (as the console's workers) bring one list up to the same
// position while others search it: the inventory is read once, every
// search sees a whole list (before or after), and none waits forever.
TEST(ItemNames, OneListForManyThreadsIsReadOnce) {
  ItemNames n;
  std::atomic<int> all_reads{0}, since_reads{0};
  const ItemNames::ReadAll all = [&]() -> Result<Names> {
    ++all_reads;
    Names names;
    for (int i = 0; i < 1000; ++i) names.push_back("Kopi " + std::to_string(i));
    return names;
  };
  const ItemNames::ReadSince since = [&](std::int64_t, std::int64_t) -> Result<Names> {
    ++since_reads;
    return Names{"Kopi baru"};
  };
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        if (!n.bring_up_to(round < 25 ? 5 : 6, all, since).ok()) ++bad;
        const auto found = n.holding("kopi 99");
        if (found.size() != 11) ++bad;   // "Kopi 99" and "Kopi 990".."Kopi 999"
        if (t % 2 == 0 && n.position() == 6 && n.from("Kopi baru", 1) != Names{"Kopi baru"}) ++bad;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(all_reads.load(), 1);
  EXPECT_EQ(since_reads.load(), 1);
  EXPECT_EQ(n.size(), 1001u);
}

}  // namespace
}  // namespace stockwatch
