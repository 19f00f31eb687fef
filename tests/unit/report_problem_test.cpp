// Report problems as codes with arguments: stored, read back and rendered,
// the English text is what the parser has always written; catalogs.
#include "report/report_problem.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "report/report_parser.hpp"
#include "test_util.hpp"

namespace stockwatch {
namespace {

ReportParser parse(const std::string& text, ParserLimits limits = {}) {
  ReportParser p(limits);
  p.feed(text, nullptr);
  p.finish(nullptr);
  return p;
}

// Stored and read back, the problems render to the very text the parser gives.
void expect_round_trip(const ReportParser& p) {
  const std::string stored = p.problems_json();
  auto back = problems_from_json(stored);
  ASSERT_TRUE(back.has_value()) << stored;
  EXPECT_EQ(back->total, p.problem_count());
  EXPECT_EQ(render_problems(back->problems, back->total, english()), p.problems_text()) << stored;
  EXPECT_EQ(rendered_problems(stored, "ignored", english()), p.problems_text());
}

TEST(ReportProblem, CodesRenderTheEnglishTextByteForByte) {
  const auto p = parse("store,item,count\nMedan,Robusta,1.000\nMedan,,5\nMedan,Toraja,-3\n"
                       "Bali,Kintamani\nBali,\"A\tB\",2\n");
  EXPECT_EQ(p.problems_text(),
            "line 2, column count: '1.000' is not a whole number; write 1000\n"
            "line 3, column item: the item is empty\n"
            "line 4, column count: '-3' is negative; a count is 0 or more\n"
            "line 5: the row has 2 columns but the header needs 3\n"
            "line 6, column item: the item contains a control character (tab); remove it");
  expect_round_trip(p);
}

TEST(ReportProblem, EveryCorpusReportRoundTrips) {
  const auto dir = std::filesystem::path(STOCKWATCH_TESTS_DIR) / "fuzz" / "corpus";
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    ParserLimits small;
    small.max_problems = 3;  // also the "... and N more problems" line
    for (const ParserLimits& limits : {ParserLimits{}, small}) {
      SCOPED_TRACE(entry.path().filename().string());
      expect_round_trip(parse(test::read_file(entry.path()), limits));
    }
    ++files;
  }
  EXPECT_GT(files, 20);
}

TEST(ReportProblem, TextFromOutsideTheParserIsKeptAsItIs) {
  const ReportProblem outside{4, "", "something the loader found"};
  EXPECT_EQ(outside.to_string(), "line 4: something the loader found");
  const std::string stored = problems_to_json(std::span(&outside, 1), 1);
  EXPECT_EQ(rendered_problems(stored, "", english()), "line 4: something the loader found");
  // Reports rejected before problems were stored as codes keep their text.
  EXPECT_EQ(rendered_problems("", "line 2: old text", english()), "line 2: old text");
  EXPECT_EQ(rendered_problems("not json", "line 2: old text", english()), "line 2: old text");
}

TEST(ReportProblem, ADuplicateRowNamesBothLines) {
  const ReportProblem dup{9, "", ProblemCode::kDuplicateRow,
                          {{"store", "Medan"}, {"item", "Robusta"}, {"first_line", "3"}}};
  EXPECT_EQ(dup.to_string(),
            "line 9: store 'Medan' and item 'Robusta' are already on line 3; list each item once");
}

TEST(ReportProblem, CodeNamesAreStable) {
  EXPECT_EQ(problem_code_name(ProblemCode::kCountNotWholeWrite), "count_not_whole_write");
  EXPECT_EQ(problem_code_from_name("empty_report"), ProblemCode::kEmptyReport);
  EXPECT_EQ(problem_code_from_name("no_such_code"), std::nullopt);
}

TEST(Catalog, AnUnknownLanguageFallsBackToEnglish) {
  EXPECT_EQ(catalog_for("en").language(), "en");
  EXPECT_EQ(&catalog_for("xx"), &english());
  EXPECT_EQ(english().format("alert.out_of_stock.sentence", {{"store", "Medan"}, {"item", "Kopi"}}),
            "Medan is out of stock of Kopi");
  EXPECT_EQ(english().text("no.such.key"), "no.such.key");
}

TEST(Catalog, PluralFormsAndPlaceholders) {
  EXPECT_EQ(english().text("problem.more", 1), "... and {n} more problem");
  EXPECT_EQ(english().text("problem.more", 2), "... and {n} more problems");
  const TextArg args[] = {{"a", "1"}, {"b", "{a}"}};
  EXPECT_EQ(fill_template("{a}-{b}-{c}", args), "1-{a}-{c}");  // values are not re-read
}

}  // namespace
}  // namespace stockwatch
