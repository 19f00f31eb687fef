// The connection's list of distinct item names (store/item_names.hpp): kept
// sorted and each name once across reset and add, and matched as the
// search's contract says (ASCII letters without case, other bytes exactly).
#include "store/item_names.hpp"

#include <gtest/gtest.h>

#include <string>
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
  EXPECT_EQ(n.all(), (Names{"Arabika Gayo", "Robusta"}));
  n.add({"Teh", "Arabika Gayo", "Kopi Luwak"}, 9);
  EXPECT_EQ(n.all(), (Names{"Arabika Gayo", "Kopi Luwak", "Robusta", "Teh"}));
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

}  // namespace
}  // namespace stockwatch
