// Minimum levels: the precedence of the lines of a levels file, and
// reading one (pipeline/minimum_levels.hpp, pipeline/levels_file.hpp).
#include "pipeline/minimum_levels.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "pipeline/levels_file.hpp"
#include "report/report_problem.hpp"

namespace stockwatch {
namespace {

TEST(MinimumLevels, TheMostSpecificLineWins) {
  const std::vector<LevelLine> lines = {{"Medan", "Robusta", 8},
                                        {"*", "Robusta", 6},
                                        {"Medan", "*", 4},
                                        {"Makassar", "*", 3}};
  const MinimumLevels m(lines, 2);
  EXPECT_EQ(m.minimum_of("Medan", "Robusta"), 8);     // store and item
  EXPECT_EQ(m.minimum_of("Makassar", "Robusta"), 6);  // item before store
  EXPECT_EQ(m.minimum_of("Medan", "Arabica"), 4);     // store
  EXPECT_EQ(m.minimum_of("Jakarta", "Arabica"), 2);   // the default
  EXPECT_FALSE(m.trivial());
}

TEST(MinimumLevels, AnyStoreAnyItemComesBeforeTheDefault) {
  const std::vector<LevelLine> lines = {{"*", "*", 5}, {"Medan", "*", 1}};
  const MinimumLevels m(lines, 2);
  EXPECT_EQ(m.minimum_of("Jakarta", "Gayo"), 5);
  EXPECT_EQ(m.minimum_of("Medan", "Gayo"), 1);
}

TEST(MinimumLevels, NoLinesAndDefaultZeroIsTrivial) {
  EXPECT_TRUE(MinimumLevels().trivial());
  EXPECT_EQ(MinimumLevels().minimum_of("a", "b"), 0);
  const std::vector<LevelLine> zeros = {{"Medan", "*", 0}};
  EXPECT_TRUE(MinimumLevels(zeros, 0).trivial());
  EXPECT_FALSE(MinimumLevels({}, 1).trivial());
}

TEST(MinimumLevels, NamesAreNotConfusedAcrossStoreAndItem) {
  // "ab" + "c" and "a" + "bc" are different keys.
  const std::vector<LevelLine> lines = {{"ab", "c", 7}};
  const MinimumLevels m(lines, 0);
  EXPECT_EQ(m.minimum_of("ab", "c"), 7);
  EXPECT_EQ(m.minimum_of("a", "bc"), 0);
}

TEST(LevelsFile, IsKnownByItsName) {
  EXPECT_TRUE(is_levels_name("levels.csv"));
  EXPECT_TRUE(is_levels_name("Levels-2026-12.xlsx"));
  EXPECT_TRUE(is_levels_name("medan/minimum-stok.csv"));
  EXPECT_TRUE(is_levels_name("MINIMUM.ods"));
  EXPECT_FALSE(is_levels_name("inventory-medan.csv"));
  EXPECT_FALSE(is_levels_name("levels/medan.csv"));  // the folder does not count
  EXPECT_FALSE(is_levels_name("my-levels.csv"));
}

std::unique_ptr<LevelsReader> read(std::string_view text) {
  auto r = std::make_unique<LevelsReader>(ParserLimits{}, HeaderAliases{});
  r->parser().feed(text, r->sink());
  r->parser().finish(r->sink());
  return r;
}

TEST(LevelsFile, ReadsLinesWithStarsAndIndonesianHeaders) {
  auto r = read("gudang,barang,minimum\nMedan,Robusta,5\n*,Arabica,3\nMakassar,*,0\n");
  ASSERT_TRUE(r->ok()) << r->problems_text();
  ASSERT_EQ(r->lines().size(), 3u);
  EXPECT_EQ(r->lines()[0], (LevelLine{"Medan", "Robusta", 5}));
  EXPECT_EQ(r->lines()[1], (LevelLine{"*", "Arabica", 3}));
  EXPECT_EQ(r->lines()[2], (LevelLine{"Makassar", "*", 0}));
  EXPECT_TRUE(read("store,item,Stok Minimum\nMedan,Robusta,5\n")->ok());
}

TEST(LevelsFile, ProblemsNameTheirLineAndTheMinimumColumn) {
  auto r = read("store,item,minimum\nMedan,Robusta,5\nMedan,Arabica,-2\nMedan,Gayo,\n"
                "Medan,Robusta,6\nMedan,Toraja,1.5\n");
  EXPECT_FALSE(r->ok());
  EXPECT_EQ(r->problems_text(),
            "line 3, column minimum: '-2' is not a minimum; write a whole number, 0 or more\n"
            "line 4, column minimum: the minimum is empty; write a whole number, 0 or more\n"
            "line 5: store 'Medan' and item 'Robusta' already have a minimum on line 2; keep one "
            "line for them\n"
            "line 6, column minimum: '1.5' is not a minimum; write a whole number, 0 or more");
  // The stored form renders in Indonesian too.
  const auto id = rendered_problem_lines(r->problems_json(), "", catalog_for("id"));
  ASSERT_EQ(id.size(), 4u);
  EXPECT_NE(id[2].find("sudah diberi minimum di baris 2"), std::string::npos) << id[2];
}

TEST(LevelsFile, AReportHeaderIsNotALevelsHeader) {
  auto r = read("store,item,count\nMedan,Robusta,5\n");
  EXPECT_FALSE(r->ok());
  EXPECT_NE(r->problems_text().find("no minimum column"), std::string::npos) << r->problems_text();
}

}  // namespace
}  // namespace stockwatch
