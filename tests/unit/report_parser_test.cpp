#include "report/report_parser.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stockwatch {
namespace {

using namespace std::string_literals;

struct Row {
  std::string store;
  std::string item;
  std::int64_t count = 0;
  std::size_t line = 0;
  bool operator==(const Row&) const = default;
};

void PrintTo(const Row& r, std::ostream* os) {
  *os << "{" << r.store << ", " << r.item << ", " << r.count << ", line " << r.line << "}";
}

struct Parsed {
  std::vector<Row> rows;
  std::vector<std::string> problems;  // ReportProblem::to_string(), in report order
  std::string text;                   // problems_text()
  std::size_t problem_count = 0;
  std::size_t delivered = 0;          // rows()
  bool ok = false;
  char delimiter = '\0';
};

// Parses `input` fed in chunks of `chunk` bytes (the whole input at once by
// default).
Parsed parse(std::string_view input, ParserLimits limits = {}, std::size_t chunk = 0) {
  ReportParser parser(limits);
  Parsed out;
  auto sink = [&](const ReportRow& r) {
    out.rows.push_back(Row{std::string(r.store), std::string(r.item), r.count, r.line});
  };
  if (chunk == 0) chunk = std::max<std::size_t>(input.size(), 1);
  for (std::size_t i = 0; i < input.size(); i += chunk) parser.feed(input.substr(i, chunk), sink);
  parser.finish(sink);
  for (const ReportProblem& p : parser.problems()) out.problems.push_back(p.to_string());
  out.text = parser.problems_text();
  out.problem_count = parser.problem_count();
  out.delivered = parser.rows();
  out.ok = parser.ok();
  out.delimiter = parser.delimiter();
  return out;
}

// The single problem a one-row report produces.
std::string problem_of(std::string_view input) {
  const Parsed p = parse(input);
  EXPECT_EQ(p.problem_count, 1u) << p.text;
  EXPECT_FALSE(p.ok);
  return p.text;
}

std::string count_problem(std::string_view count) {
  return problem_of("store,item,count\nS1,Soap," + std::string(count) + "\n");
}

// ---- Accepted input -------------------------------------------------------

TEST(ReportParser, ReadsRowsWithPhysicalLineNumbers) {
  const Parsed p = parse("store,item,count\nS1,Soap,5\nS1,Rice,0\nS2,Soap,12\n");
  EXPECT_TRUE(p.ok) << p.text;
  EXPECT_EQ(p.text, "");
  EXPECT_EQ(p.delimiter, ',');
  EXPECT_EQ(p.delivered, 3u);
  EXPECT_EQ(p.rows, (std::vector<Row>{{"S1", "Soap", 5, 2}, {"S1", "Rice", 0, 3}, {"S2", "Soap", 12, 4}}));
}

TEST(ReportParser, LastLineWithoutLineEnd) {
  const Parsed p = parse("store,item,count\nS1,Soap,5");
  EXPECT_TRUE(p.ok) << p.text;
  EXPECT_EQ(p.rows, (std::vector<Row>{{"S1", "Soap", 5, 2}}));
}

TEST(ReportParser, SkipsUtf8Bom) {
  const std::string input = "\xEF\xBB\xBFstore,item,count\nS1,Kopi \xE2\x98\x95,5\n";
  for (std::size_t chunk : {0, 1, 2}) {
    const Parsed p = parse(input, {}, chunk);
    EXPECT_TRUE(p.ok) << p.text;
    EXPECT_EQ(p.rows, (std::vector<Row>{{"S1", "Kopi \xE2\x98\x95", 5, 2}})) << chunk;
  }
}

TEST(ReportParser, AcceptsLfCrlfCrAndMixedLineEnds) {
  const std::vector<Row> expected = {{"S1", "Soap", 5, 2}, {"S1", "Rice", 6, 3}};
  for (const char* input : {"store,item,count\nS1,Soap,5\nS1,Rice,6\n",
                            "store,item,count\r\nS1,Soap,5\r\nS1,Rice,6\r\n",
                            "store,item,count\rS1,Soap,5\rS1,Rice,6\r",
                            "store,item,count\r\nS1,Soap,5\rS1,Rice,6\n"}) {
    const Parsed p = parse(input);
    EXPECT_TRUE(p.ok) << p.text;
    EXPECT_EQ(p.rows, expected);
  }
}

TEST(ReportParser, CrlfSplitAcrossChunksIsOneLineEnd) {
  ReportParser parser;
  std::vector<Row> rows;
  auto sink = [&](const ReportRow& r) {
    rows.push_back(Row{std::string(r.store), std::string(r.item), r.count, r.line});
  };
  parser.feed("store,item,count\r", sink);
  parser.feed("\nS1,Soap,5\r", sink);
  parser.feed("\nS1,Rice,6\r", sink);
  parser.feed("\n", sink);
  parser.finish(sink);
  EXPECT_TRUE(parser.ok()) << parser.problems_text();
  EXPECT_EQ(rows, (std::vector<Row>{{"S1", "Soap", 5, 2}, {"S1", "Rice", 6, 3}}));
}

TEST(ReportParser, AnyChunkingGivesTheSameResult) {
  const std::string input =
      "\xEF\xBB\xBF\r\nGudang;Barang;Jumlah\r\n\"Toko; A\";\"Sabun \"\"Wangi\"\"\";5\r\n"
      "B;\"Beras\r\n5kg\";7\rC;Gula;1.000\nC;\"Teh\";\n\nD;\xC3\x28;1\n\"E\nF\";G;3\r\n";
  const Parsed whole = parse(input);
  EXPECT_FALSE(whole.ok);
  for (std::size_t chunk = 1; chunk <= input.size(); ++chunk) {
    const Parsed p = parse(input, {}, chunk);
    EXPECT_EQ(p.rows, whole.rows) << chunk;
    EXPECT_EQ(p.text, whole.text) << chunk;
  }
}

TEST(ReportParser, DetectsSemicolonTabAndPipe) {
  const std::vector<Row> expected = {{"S1", "Soap, large", 5, 2}};
  struct Case {
    const char* input;
    char delimiter;
  };
  for (const Case& c : {Case{"store;item;count\nS1;Soap, large;5\n", ';'},
                        Case{"store\titem\tcount\nS1\tSoap, large\t5\n", '\t'},
                        Case{"store|item|count\nS1|Soap, large|5\n", '|'},
                        Case{"store,item,count\nS1,\"Soap, large\",5\n", ','}}) {
    const Parsed p = parse(c.input);
    EXPECT_TRUE(p.ok) << p.text;
    EXPECT_EQ(p.delimiter, c.delimiter);
    EXPECT_EQ(p.rows, expected) << c.input;
  }
}

TEST(ReportParser, QuotedFieldsHoldDelimitersAndDoubledQuotes) {
  const Parsed p = parse("store,item,count\n\"S1, North\",\"Soap \"\"Lux\"\"\",\"5\"\n");
  EXPECT_TRUE(p.ok) << p.text;
  EXPECT_EQ(p.rows, (std::vector<Row>{{"S1, North", "Soap \"Lux\"", 5, 2}}));
}

TEST(ReportParser, LineBreakInQuotedExtraColumnKeepsStartLine) {
  const Parsed p = parse(
      "store,item,count,note\nS1,Soap,5,\"two\nlines\"\nS1,Rice,6,\"three\r\nlines\r\nhere\"\n"
      "S1,Tea,7,x\n");
  EXPECT_TRUE(p.ok) << p.text;
  EXPECT_EQ(p.rows, (std::vector<Row>{{"S1", "Soap", 5, 2}, {"S1", "Rice", 6, 4}, {"S1", "Tea", 7, 7}}));
}

TEST(ReportParser, ErrorInRecordSpanningLinesNamesItsFirstLine) {
  const Parsed p = parse("store,item,count,note\nS1,Soap,2.5,\"a\nb\"\nS1,Tea,x,\n");
  EXPECT_EQ(p.text,
            "line 2, column count: '2.5' is not a whole number; counts are whole units\n"
            "line 4, column count: 'x' is not a whole number");
}

TEST(ReportParser, HeaderNamesAreCaseInsensitiveTrimmedAliasedAndInAnyOrder) {
  const Parsed q = parse(" Jumlah ,NOTE, Barang,GUDANG ,Price\n5,fragile,Sabun,Toko A,9.99\n");
  EXPECT_TRUE(q.ok) << q.text;
  EXPECT_EQ(q.rows, (std::vector<Row>{{"Toko A", "Sabun", 5, 2}}));
}

// The stock-count template's layout (docs/templates.md): a reference
// column beside the count, under a name no alias matches, is ignored
// wherever it stands; the count comes from the count column only.
TEST(ReportParser, TheTemplatesLastCountColumnIsIgnored) {
  const Parsed en = parse("Store,Item,Last count,Count\nMedan,Gayo,24,20\nMedan,Dairi,0,7\n");
  EXPECT_TRUE(en.ok) << en.text;
  EXPECT_EQ(en.rows, (std::vector<Row>{{"Medan", "Gayo", 20, 2}, {"Medan", "Dairi", 7, 3}}));
  const Parsed id = parse("Gudang,Barang,Hitungan terakhir,Jumlah\nMedan,Gayo,24,20\n");
  EXPECT_TRUE(id.ok) << id.text;
  EXPECT_EQ(id.rows, (std::vector<Row>{{"Medan", "Gayo", 20, 2}}));
  const Parsed after = parse("Store,Item,Count,Last count\nMedan,Gayo,20,24\n");
  EXPECT_TRUE(after.ok) << after.text;
  EXPECT_EQ(after.rows, (std::vector<Row>{{"Medan", "Gayo", 20, 2}}));
  // A last count left without a new count is an empty count, never read.
  const Parsed empty = parse("Store,Item,Last count,Count\nMedan,Gayo,24,\n");
  EXPECT_EQ(empty.text, "line 2, column count: the count is empty; write 0 if the item is out "
                        "of stock");
}

TEST(ReportParser, QuotedHeaderNames) {
  const Parsed p = parse("\"Store\";\" item \";\"count\"\n\"A\";\"B;C\";\"1\"\n");
  EXPECT_TRUE(p.ok) << p.text;
  EXPECT_EQ(p.delimiter, ';');
  EXPECT_EQ(p.rows, (std::vector<Row>{{"A", "B;C", 1, 2}}));
}

TEST(ReportParser, AllAliasesAreAccepted) {
  for (const char* store : {"store", "gudang", "toko", "warehouse"}) {
    for (const char* item : {"item", "barang", "produk", "product"}) {
      for (const char* count : {"count", "jumlah", "stok", "stock", "qty", "quantity"}) {
        const Parsed p = parse(std::string(store) + "," + item + "," + count + "\nS,I,1\n");
        EXPECT_TRUE(p.ok) << p.text;
        EXPECT_EQ(p.delivered, 1u);
      }
    }
  }
}

// ---- The date column --------------------------------------------------------

std::optional<std::int64_t> day_of(std::string_view input) {
  ReportParser parser;
  const auto sink = [](const ReportRow&) {};
  parser.feed(input, sink);
  parser.finish(sink);
  EXPECT_TRUE(parser.ok()) << parser.problems_text();
  return parser.report_day();
}

TEST(ReportParser, ADateColumnGivesTheReportsDay) {
  // 2026-11-30 is day 20787 since 1970-01-01.
  EXPECT_EQ(day_of("store,item,count,date\nMedan,Gayo,5,2026-11-30\nMedan,Toraja,0,2026-11-30\n"),
            20787);
  // Indonesian, quoted, day first, first column; a month is its last day.
  EXPECT_EQ(day_of("tanggal;gudang;barang;jumlah\n\"30/11/2026\";Medan;Gayo;5\n"), 20787);
  EXPECT_EQ(day_of("date,store,item,count\n2026-11,Medan,Gayo,5\n"), 20787);
  // Without the column: none.
  EXPECT_EQ(day_of("store,item,count\nMedan,Gayo,5\n"), std::nullopt);
  const Parsed p = parse("store,item,count,date\nMedan,Gayo,5,2026-11-30\n");
  EXPECT_EQ(p.rows, (std::vector<Row>{{"Medan", "Gayo", 5, 2}}));
}

TEST(ReportParser, OneDatePerReportEveryOtherIsAProblemAtItsLine) {
  const Parsed p = parse(
      "store,item,count,date\nMedan,Gayo,5,2026-11-30\nMedan,Toraja,3,2026-12-31\n"
      "Medan,Kintamani,2,\nMedan,Flores,1,kemarin\n");
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.problems,
            (std::vector<std::string>{
                "line 3, column date: the date 2026-12-31 differs from 2026-11-30 on line 2; a "
                "report holds the counts of one day, so send each day's counts as a report of its "
                "own",
                "line 4, column date: the date is empty; write the day the items were counted, "
                "e.g. 2026-11-30",
                "line 5, column date: 'kemarin' is not a date; write it as 2026-11-30 (or "
                "30/11/2026, or 2026-11 for the end of the month)"}));
  // The same problems in Indonesian.
  ReportParser parser;
  const auto sink = [](const ReportRow&) {};
  parser.feed("gudang,barang,jumlah,tanggal\nMedan,Gayo,5,2026-11-30\nMedan,Toraja,3,2026-12-31\n", sink);
  parser.finish(sink);
  ASSERT_EQ(parser.problems().size(), 1u);
  EXPECT_EQ(parser.problems()[0].render(catalog_for("id")),
            "baris 3, kolom date: tanggal 2026-12-31 berbeda dengan 2026-11-30 di baris 2; satu "
            "laporan berisi stok satu hari saja, jadi kirim stok tiap hari sebagai laporan "
            "tersendiri");
}

TEST(ReportParser, TwoColumnsForTheSameRoleIsAnError) {
  const Parsed p = parse("store,item,count,Qty\nS1,Soap,5,6\n");
  EXPECT_EQ(p.text,
            "line 1: the header has two count columns: 'count' (column 3) and 'Qty' (column 4); "
            "keep only one");
  EXPECT_EQ(p.problem_count, 1u);
}

TEST(ReportParser, TrimsSpaceAroundUnquotedValues) {
  const Parsed p = parse("store,item,count\n  S1 \t, Soap bar ,\t 5 \n");
  EXPECT_TRUE(p.ok) << p.text;
  EXPECT_EQ(p.rows, (std::vector<Row>{{"S1", "Soap bar", 5, 2}}));
}

TEST(ReportParser, TabDelimiterTrimsOnlySpaces) {
  const Parsed p = parse("store\titem\tcount\n S1 \t Soap \t 5 \n");
  EXPECT_TRUE(p.ok) << p.text;
  EXPECT_EQ(p.rows, (std::vector<Row>{{"S1", "Soap", 5, 2}}));
}

TEST(ReportParser, QuotedValuesKeepTheirSpaces) {
  const Parsed p = parse("store,item,count\n \" S1 \" , Soap , \" 5 \"\n");
  EXPECT_TRUE(p.ok) << p.text;
  EXPECT_EQ(p.rows, (std::vector<Row>{{" S1 ", "Soap", 5, 2}}));
}

TEST(ReportParser, SkipsBlankAndDelimiterOnlyLinesAnywhere) {
  const Parsed p = parse("\n  \r\n,,\n;;\nstore;item;count\n\n;;\n ; ;\t\nS1;Soap;5\n\n;\n");
  EXPECT_TRUE(p.ok) << p.text;
  EXPECT_EQ(p.rows, (std::vector<Row>{{"S1", "Soap", 5, 9}}));
}

TEST(ReportParser, AcceptsLeadingZeros) {
  const Parsed p = parse("store,item,count\nS1,Soap,007\nS1,Rice,000\n");
  EXPECT_TRUE(p.ok) << p.text;
  EXPECT_EQ(p.rows, (std::vector<Row>{{"S1", "Soap", 7, 2}, {"S1", "Rice", 0, 3}}));
}

TEST(ReportParser, AcceptsTheMaximumCount) {
  const Parsed p = parse("store,item,count\nS1,Soap,1000000000\n");
  EXPECT_TRUE(p.ok) << p.text;
  EXPECT_EQ(p.rows.at(0).count, 1'000'000'000);
}

// ---- Header problems ------------------------------------------------------

TEST(ReportParser, MissingColumnNamesFoundAndAcceptedNames) {
  const Parsed p = parse("store,item,amount\nS1,Soap,5\n");
  EXPECT_EQ(p.text,
            "line 1: the header has no count column (found: store, item, amount); name it one "
            "of: count, jumlah, stok, stock, qty, quantity");
  EXPECT_EQ(p.delivered, 0u);
  EXPECT_EQ(p.problem_count, 1u);
}

TEST(ReportParser, MissingColumnIsReportedOnTheHeaderLine) {
  const Parsed p = parse("\n\nwarehouse,amount\nS1,5\n");
  EXPECT_EQ(p.text,
            "line 3: the header has no item column (found: warehouse, amount); name it one of: "
            "item, barang, produk, product\n"
            "line 3: the header has no count column (found: warehouse, amount); name it one of: "
            "count, jumlah, stok, stock, qty, quantity");
}

TEST(ReportParser, NoDelimiterFitsFallsBackToComma) {
  const Parsed p = parse("store;item;amount\nS1;Soap;5\n");
  EXPECT_EQ(p.delimiter, ',');
  EXPECT_EQ(p.text,
            "line 1: the header has no store column (found: store;item;amount); name it one "
            "of: store, gudang, toko, warehouse\n"
            "line 1: the header has no item column (found: store;item;amount); name it one of: "
            "item, barang, produk, product\n"
            "line 1: the header has no count column (found: store;item;amount); name it one of: "
            "count, jumlah, stok, stock, qty, quantity");
}

// ---- Count problems -------------------------------------------------------

TEST(ReportParser, NegativeCount) {
  EXPECT_EQ(count_problem("-3"), "line 2, column count: '-3' is negative; a count is 0 or more");
}

TEST(ReportParser, DecimalCount) {
  EXPECT_EQ(count_problem("2.5"),
            "line 2, column count: '2.5' is not a whole number; counts are whole units");
  EXPECT_EQ(count_problem("\"2,5\""),
            "line 2, column count: '2,5' is not a whole number; counts are whole units");
}

TEST(ReportParser, DecimalCountWithZeroFraction) {
  EXPECT_EQ(count_problem("4.00"), "line 2, column count: '4.00' is not a whole number; write 4");
}

TEST(ReportParser, TextCount) {
  EXPECT_EQ(count_problem("abc"), "line 2, column count: 'abc' is not a whole number");
}

TEST(ReportParser, EmptyCount) {
  EXPECT_EQ(count_problem(""),
            "line 2, column count: the count is empty; write 0 if the item is out of stock");
  EXPECT_EQ(count_problem("  "),
            "line 2, column count: the count is empty; write 0 if the item is out of stock");
}

TEST(ReportParser, ThousandSeparatorsInCount) {
  EXPECT_EQ(count_problem("1.000"), "line 2, column count: '1.000' is not a whole number; write 1000");
  EXPECT_EQ(count_problem("\"1,000\""),
            "line 2, column count: '1,000' is not a whole number; write 1000");
  EXPECT_EQ(count_problem("1 000"), "line 2, column count: '1 000' is not a whole number; write 1000");
  EXPECT_EQ(count_problem("12.345.678"),
            "line 2, column count: '12.345.678' is not a whole number; write 12345678");
}

TEST(ReportParser, PlusSignInCount) {
  EXPECT_EQ(count_problem("+5"), "line 2, column count: '+5' is not a whole number; write 5");
}

TEST(ReportParser, CountAboveMaximum) {
  EXPECT_EQ(count_problem("5000000000"),
            "line 2, column count: '5000000000' is larger than the maximum count 1000000000");
  EXPECT_EQ(count_problem("99999999999999999999999999"),
            "line 2, column count: '99999999999999999999999999' is larger than the maximum "
            "count 1000000000");
}

TEST(ReportParser, CountMaximumComesFromLimits) {
  ParserLimits limits;
  limits.max_count = 10;
  const Parsed p = parse("store,item,count\nS1,Soap,10\nS1,Rice,11\n", limits);
  EXPECT_EQ(p.rows, (std::vector<Row>{{"S1", "Soap", 10, 2}}));
  EXPECT_EQ(p.text, "line 3, column count: '11' is larger than the maximum count 10");
}

TEST(ReportParser, LongCountIsShortenedInTheMessage) {
  EXPECT_EQ(count_problem(std::string(100, 'x')),
            "line 2, column count: '" + std::string(60, 'x') + "...' is not a whole number");
}

// ---- Store and item problems ----------------------------------------------

TEST(ReportParser, EmptyStore) {
  EXPECT_EQ(problem_of("store,item,count\n,Soap,5\n"), "line 2, column store: the store is empty");
  EXPECT_EQ(problem_of("store,item,count\n\"  \",Soap,5\n"),
            "line 2, column store: the store is empty");
}

TEST(ReportParser, EmptyItem) {
  EXPECT_EQ(problem_of("store,item,count\nS1, ,5\n"), "line 2, column item: the item is empty");
}

TEST(ReportParser, NameLongerThanTheLimit) {
  EXPECT_EQ(problem_of("store,item,count\nS1," + std::string(250, 'a') + ",5\n"),
            "line 2, column item: the item is 250 bytes long; the limit is 200");
  const Parsed ok = parse("store,item,count\nS1," + std::string(200, 'a') + ",5\n");
  EXPECT_TRUE(ok.ok) << ok.text;
}

TEST(ReportParser, LineBreakInQuotedNameIsAControlCharacter) {
  const Parsed p = parse("store,item,count\nS1,\"Soap\nbar\",5\nS1,Rice,6\n");
  EXPECT_EQ(p.text,
            "line 2, column item: the item contains a control character (line break); remove it");
  EXPECT_EQ(p.rows, (std::vector<Row>{{"S1", "Rice", 6, 4}}));
}

TEST(ReportParser, OtherControlCharactersInNames) {
  EXPECT_EQ(problem_of("store,item,count\nS1,Soap\tbar,5\n"),
            "line 2, column item: the item contains a control character (tab); remove it");
  EXPECT_EQ(problem_of("store,item,count\nS\x07,Soap,5\n"),
            "line 2, column store: the store contains a control character (U+0007); remove it");
  EXPECT_EQ(problem_of("store,item,count\nS\x7F,Soap,5\n"),
            "line 2, column store: the store contains a control character (delete, U+007F); "
            "remove it");
}

// Names are checked eight bytes at a time: every control byte is found at
// every position, and no other byte (bytes of UTF-8 sequences included) is
// taken for one.
TEST(ReportParser, ControlCharactersAreFoundAtEveryPositionOfAName) {
  for (std::size_t pos = 1; pos < 18; ++pos) {
    for (int b = 0x01; b < 0x100; ++b) {
      if (b == '\n' || b == '\r' || b == ',' || b == '"' || (b >= 0x80 && b < 0xC0)) continue;
      std::string item(19, 'x');
      item[pos] = static_cast<char>(b);
      if (b >= 0xC0) {  // a two-byte sequence: U+00C0 and up, and U+0080 and up
        if (b > 0xDF) continue;
        item[pos + 1] = static_cast<char>(0x80 | (b & 0x3F));
        if (b < 0xC2) continue;  // overlong: not UTF-8
      }
      const bool control = b < 0x20 || b == 0x7F;
      const Parsed p = parse("store,item,count\nS1," + item + ",5\n");
      EXPECT_EQ(p.ok, !control) << "byte " << b << " at " << pos << ": " << p.text;
      if (control) {
        EXPECT_NE(p.text.find("contains a control character"), std::string::npos) << p.text;
      }
    }
  }
}

TEST(ReportParser, EveryBadFieldOfARowIsReported) {
  const Parsed p = parse("store,item,count\n,,-1\n");
  EXPECT_EQ(p.text,
            "line 2, column store: the store is empty\n"
            "line 2, column item: the item is empty\n"
            "line 2, column count: '-1' is negative; a count is 0 or more");
  EXPECT_EQ(p.delivered, 0u);
}

// ---- Encoding and structure problems --------------------------------------

TEST(ReportParser, InvalidUtf8IsReportedOncePerLineAndTheRowIsDropped) {
  const Parsed p = parse(
      "store,item,count\n"
      "S1,Caf\xE9,5\n"                        // Latin-1, truncated sequence
      "S1,\xC0\xAF\xC0\xAF,x\n"               // overlong, twice on one line, bad count too
      "S1,\xED\xA0\x80,5\n"                   // surrogate
      "S1,Caf\xC3\xA9,5\n"                    // valid
      "S1,Tea\xE2\x82,5\n");                  // sequence cut short
  EXPECT_EQ(p.text,
            "line 2: the file is not valid UTF-8; save it as \"CSV UTF-8\"\n"
            "line 3: the file is not valid UTF-8; save it as \"CSV UTF-8\"\n"
            "line 4: the file is not valid UTF-8; save it as \"CSV UTF-8\"\n"
            "line 6: the file is not valid UTF-8; save it as \"CSV UTF-8\"");
  EXPECT_EQ(p.rows, (std::vector<Row>{{"S1", "Caf\xC3\xA9", 5, 5}}));
}

TEST(ReportParser, UnterminatedQuote) {
  const Parsed p = parse("store,item,count\nS1,Soap,5\nS1,\"Rice,6\nS1,Tea,7\n");
  EXPECT_EQ(p.text, "line 3: a quoted field starting here is never closed; check the quotes");
  EXPECT_EQ(p.problem_count, 1u);
  EXPECT_EQ(p.rows, (std::vector<Row>{{"S1", "Soap", 5, 2}}));
}

TEST(ReportParser, UnterminatedQuoteOverManyLinesStaysBounded) {
  std::string input = "store,item,count\nS1,\"Rice,6\n";
  for (int i = 0; i < 200000; ++i) input += "S1,Tea,7,\"\",\"\"\"\"\n";
  const Parsed p = parse(input, {}, 4096);
  EXPECT_EQ(p.text, "line 2: a quoted field starting here is never closed; check the quotes");
}

TEST(ReportParser, RowWithTooFewColumns) {
  const Parsed p = parse("store,item,count\nS1,Soap,1\nS1,Soap,2\nS1,Soap,3\nS1,Soap,4\n"
                         "S1,Soap,5\nS1,Soap,6\nS1,Soap,7\nS1,Soap\nS2\n");
  EXPECT_EQ(p.text,
            "line 9: the row has 2 columns but the header needs 3\n"
            "line 10: the row has 1 column but the header needs 3");
  EXPECT_EQ(p.delivered, 7u);
}

TEST(ReportParser, ColumnsNeededFollowTheHeaderOrder) {
  // The count is the 4th column: a row needs 4 columns, but not the 5th.
  const Parsed p = parse("item,store,note,count,price\nSoap,S1,x,5\n\"Rice\",S1,\"y\"\n");
  EXPECT_EQ(p.text, "line 3: the row has 3 columns but the header needs 4");
  EXPECT_EQ(p.rows, (std::vector<Row>{{"S1", "Soap", 5, 2}}));
}

TEST(ReportParser, EmptyReport) {
  for (const char* input : {"", "   \n\t\r\n", "\xEF\xBB\xBF", "\xEF\xBB\xBF\n \n"}) {
    const Parsed p = parse(input);
    EXPECT_EQ(p.text, "the report is empty") << input;
    EXPECT_EQ(p.problems, std::vector<std::string>{"the report is empty"});
    EXPECT_FALSE(p.ok);
  }
}

TEST(ReportParser, HeaderWithoutRows) {
  for (const char* input : {"store,item,count", "store,item,count\n\n,,\n"}) {
    const Parsed p = parse(input);
    EXPECT_EQ(p.text, "the report has a header but no rows") << input;
    EXPECT_FALSE(p.ok);
  }
}

TEST(ReportParser, NulByteMeansBinaryAndStopsParsing) {
  const Parsed p = parse("store,item,count\nS1,Soap,5\nS1,Ri\0ce,x\nS1,,\n"s);
  EXPECT_EQ(p.text, "line 3: the file contains binary data (a NUL byte); it is not a CSV report");
  EXPECT_EQ(p.problem_count, 1u);
  EXPECT_EQ(p.rows, (std::vector<Row>{{"S1", "Soap", 5, 2}}));
  const Parsed zip = parse("PK\x03\x04\x14\x00\x06\x00"s);
  EXPECT_EQ(zip.text, "line 1: the file contains binary data (a NUL byte); it is not a CSV report");
}

TEST(ReportParser, OverlongLineStopsParsing) {
  const std::string input = "store,item,count\nS1,Soap,5\nS1," + std::string(70000, 'a') +
                            ",5\nS1,,\n";
  for (std::size_t chunk : {0, 1000, 65536}) {
    const Parsed p = parse(input, {}, chunk);
    EXPECT_EQ(p.text, "line 3: the line is longer than 65536 bytes");
    EXPECT_EQ(p.problem_count, 1u);
    EXPECT_EQ(p.rows, (std::vector<Row>{{"S1", "Soap", 5, 2}}));
  }
}

TEST(ReportParser, LineOfExactlyTheLimitIsAccepted) {
  ParserLimits limits;
  limits.max_line_bytes = 20;
  // "S1,Soap," and 12 digits: 20 bytes, not counting the line end.
  const Parsed p = parse("store,item,count\nS1,Soap," + std::string(12, '1') + "\r\n", limits);
  EXPECT_EQ(p.text, "line 2, column count: '111111111111' is larger than the maximum count 1000000000");
  const Parsed q = parse("store,item,count\nS1,Soap," + std::string(13, '1') + "\r\n", limits);
  EXPECT_EQ(q.text, "line 2: the line is longer than 20 bytes");
}

// ---- Problem collection and text ------------------------------------------

TEST(ReportParser, ProblemsBeyondTheCapAreCounted) {
  ParserLimits limits;
  limits.max_problems = 2;
  const Parsed p = parse("store,item,count\nS1,a,-1\nS1,b,-2\nS1,c,-3\nS1,d,-4\nS1,e,5\n", limits);
  EXPECT_EQ(p.problem_count, 4u);
  EXPECT_EQ(p.problems.size(), 2u);
  EXPECT_EQ(p.delivered, 1u);
  EXPECT_EQ(p.text,
            "line 2, column count: '-1' is negative; a count is 0 or more\n"
            "line 3, column count: '-2' is negative; a count is 0 or more\n"
            "... and 2 more problems");
}

TEST(ReportParser, ProblemToString) {
  EXPECT_EQ((ReportProblem{7, "count", "'1.000' is not a whole number; write 1000"}.to_string()),
            "line 7, column count: '1.000' is not a whole number; write 1000");
  EXPECT_EQ((ReportProblem{3, "", "the row has 2 columns but the header needs 3"}.to_string()),
            "line 3: the row has 2 columns but the header needs 3");
  EXPECT_EQ((ReportProblem{0, "", "the report is empty"}.to_string()), "the report is empty");
}

TEST(ReportParser, AddedProblemsAreSortedByLineAndCapped) {
  ParserLimits limits;
  limits.max_problems = 3;
  ReportParser parser(limits);
  auto sink = [](const ReportRow&) {};
  parser.feed("store,item,count\nS1,Soap,5\nS1,Rice,-1\nS1,Soap,6\n", sink);
  parser.finish(sink);
  EXPECT_EQ(parser.rows(), 2u);
  parser.add_problem({4, "item", "S1 / Soap is listed twice (also on line 2)"});
  parser.add_problem({0, "", "the report is larger than 10 MB"});
  parser.add_problem({2, "", "one more"});
  EXPECT_FALSE(parser.ok());
  EXPECT_EQ(parser.problem_count(), 4u);
  EXPECT_EQ(parser.problems_text(),
            "the report is larger than 10 MB\n"
            "line 3, column count: '-1' is negative; a count is 0 or more\n"
            "line 4, column item: S1 / Soap is listed twice (also on line 2)\n"
            "... and 1 more problem");
}

TEST(ReportParser, RowsWithProblemsAreNotDeliveredButParsingGoesOn) {
  const Parsed p = parse("store,item,count\nS1,Soap,x\nS1,Rice,6\n,Tea,1\nS2,Tea,1\n");
  EXPECT_EQ(p.delivered, 2u);
  EXPECT_EQ(p.rows, (std::vector<Row>{{"S1", "Rice", 6, 3}, {"S2", "Tea", 1, 5}}));
  EXPECT_EQ(p.problem_count, 2u);
  EXPECT_FALSE(p.ok);
}

TEST(ReportParser, FeedAfterFinishIsIgnored) {
  ReportParser parser;
  int rows = 0;
  auto sink = [&](const ReportRow&) { ++rows; };
  parser.feed("store,item,count\nS1,Soap,5\n", sink);
  parser.finish(sink);
  parser.feed("S1,Rice,6\n", sink);
  parser.finish(sink);
  EXPECT_EQ(rows, 1);
  EXPECT_TRUE(parser.ok());
}

}  // namespace
}  // namespace stockwatch

namespace stockwatch {
namespace {

// Values past the header's last column: "1,000" split by the delimiter, or a
// name holding an unquoted delimiter. Reading them as if they were not there
// would load the wrong count (1 instead of 1000, 0 instead of 0.5).
TEST(ReportParserExtraValues, ThousandSeparatorCommaIsRejected) {
  ReportParser p;
  std::vector<std::int64_t> counts;
  p.feed("store,item,count\nMedan,Arabika Gayo,1,000\nMedan,Kopi Luwak,0,5\nMedan,Ok,3\n",
         [&](const ReportRow& r) { counts.push_back(r.count); });
  p.finish([&](const ReportRow& r) { counts.push_back(r.count); });
  EXPECT_EQ(counts, std::vector<std::int64_t>{3});
  EXPECT_EQ(p.problems_text(),
            "line 2: the row has 4 columns but the header has 3; write numbers without separators "
            "(1000, not 1,000) and put names that contain ',' in quotes\n"
            "line 3: the row has 4 columns but the header has 3; write numbers without separators "
            "(1000, not 1,000) and put names that contain ',' in quotes");
}

TEST(ReportParserExtraValues, EmptyTrailingCellsAndIgnoredColumnsAreFine) {
  ReportParser p;
  int rows = 0;
  auto sink = [&](const ReportRow&) { ++rows; };
  p.feed("store,item,count,note\nMedan,A,1,fine\nMedan,B,2,,,\nMedan,C,3\n", sink);
  p.finish(sink);
  EXPECT_TRUE(p.ok()) << p.problems_text();
  EXPECT_EQ(rows, 3);
}

TEST(ReportParserExtraValues, QuotedRowsAreCheckedToo) {
  ReportParser p;
  p.feed("store;item;count\nMedan;\"Teh; Melati\";1;000\n", nullptr);
  p.finish(nullptr);
  EXPECT_EQ(p.problems_text(),
            "line 2: the row has 4 columns but the header has 3; write numbers without separators "
            "(1000, not 1;000) and put names that contain ';' in quotes");
}

}  // namespace
}  // namespace stockwatch
