// The stock-count template: what the writer puts in the workbook, read back
// by the project's own workbook reader, filled in by a spreadsheet program
// nobody here wrote (openpyxl, tests/support/template_tool.py) and loaded
// back as a report; the store's items from the inventory; the errors.
#include "report/template/template_writer.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "pipeline/template_source.hpp"
#include "report/workbook/workbook_reader.hpp"
#include "report/workbook/workbook_report.hpp"
#include "storage_test_util.hpp"
#include "test_util.hpp"

namespace stockwatch {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

TemplateSheet medan() {
  return {"Medan", {{"Arabika Gayo", 24}, {"Robusta Dairi", 0}, {"Liberika Jambi", std::nullopt}}};
}

// Every non-empty cell of the first sheet, row by row: "A1=Store".
struct Cells : workbook::SheetSink {
  std::string sheet;
  std::vector<std::string> cells;
  void on_sheet(const std::string& name) override { sheet = name; }
  std::optional<workbook::WorkbookProblem> on_row(const workbook::SheetRow& row) override {
    for (const auto& c : row.cells) {
      cells.push_back(workbook::cell_ref(c.column, row.number) + "=" + c.text);
    }
    return std::nullopt;
  }
};

Cells cells_of(const fs::path& file) {
  Cells cells;
  auto problem = workbook::read_workbook_file(file.string(), "", {}, cells);
  EXPECT_FALSE(problem.has_value()) << problem->to_string();
  return cells;
}

struct Loaded {
  std::vector<std::string> rows;  // "store|item|count@row"
  std::string problems;
};

// The workbook read as a report, as the loader reads one.
Loaded load(const fs::path& file, std::string_view store = "Medan",
            const HeaderAliases& aliases = {}) {
  ReportParser parser({}, aliases);
  workbook::WorkbookReport report(parser, aliases);
  Loaded out;
  report.read_file(file.string(), store, [&](const ReportRow& r) {
    out.rows.push_back(std::string(r.store) + "|" + std::string(r.item) + "|" +
                       std::to_string(r.count) + "@" + std::to_string(r.line));
  });
  out.problems = report.problems_text();
  return out;
}

// Fills the count column with openpyxl ("-" leaves a cell empty).
void fill(const fs::path& in, const fs::path& out, const std::string& counts) {
  const fs::path tool = fs::path(STOCKWATCH_TESTS_DIR) / "support" / "template_tool.py";
  const std::string cmd = std::string(STOCKWATCH_PYTHON) + " " + tool.string() + " fill " +
                          in.string() + " " + out.string() + " " + counts;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

using Strings = std::vector<std::string>;

// --- What the sheet holds -------------------------------------------------------------

TEST(TemplateWriter, OneSheetNamedLikeTheStoreWithHeadersItemsAndLastCounts) {
  TempDir dir("template");
  ASSERT_TRUE(write_template(medan(), english(), {}, dir / "medan.xlsx").ok());
  const Cells c = cells_of(dir / "medan.xlsx");
  EXPECT_EQ(c.sheet, "Medan");
  EXPECT_EQ(c.cells, (Strings{"A1=Store", "B1=Item", "C1=Last count", "D1=Count",
                              "A2=Medan", "B2=Arabika Gayo", "C2=24",
                              "A3=Medan", "B3=Robusta Dairi", "C3=0",
                              "A4=Medan", "B4=Liberika Jambi"}));
}

TEST(TemplateWriter, IndonesianHeadersAreNamesTheParserAccepts) {
  TempDir dir("template");
  ASSERT_TRUE(write_template(medan(), catalog_for("id"), {}, dir / "medan.xlsx").ok());
  const Cells c = cells_of(dir / "medan.xlsx");
  EXPECT_EQ(Strings(c.cells.begin(), c.cells.begin() + 4),
            (Strings{"A1=Gudang", "B1=Barang", "C1=Hitungan terakhir", "D1=Jumlah"}));
  const HeaderAliases aliases;
  EXPECT_EQ(header_role("Gudang", aliases), 0);
  EXPECT_EQ(header_role("Barang", aliases), 1);
  EXPECT_EQ(header_role("Jumlah", aliases), 2);
  EXPECT_EQ(header_role("Hitungan terakhir", aliases), -1);
  EXPECT_EQ(header_role("Last count", aliases), -1);
}

TEST(TemplateWriter, HeadersFollowTheConfiguredAliases) {
  HeaderAliases aliases;
  aliases.store = {"lokasi"};
  aliases.count = {"qty", "last count"};  // the owner's own words
  const TemplateHeaders h = template_headers(english(), aliases);
  EXPECT_EQ(h.store, "lokasi");  // "Store" would not be read: the first alias instead
  EXPECT_EQ(h.item, "Item");
  EXPECT_EQ(h.count, "qty");
  // The reference column must never be taken for the count.
  EXPECT_EQ(h.last_count, "Last count (ref)");
  EXPECT_EQ(header_role(h.last_count, aliases), -1);
}

TEST(TemplateWriter, SheetNamesAreWhatExcelAccepts) {
  EXPECT_EQ(template_sheet_name("Medan", english()), "Medan");
  EXPECT_EQ(template_sheet_name("Gudang [A]/B:2", english()), "Gudang  A  B 2");
  EXPECT_EQ(template_sheet_name("'Toko'", english()), "Toko");
  EXPECT_EQ(template_sheet_name("Gudang Pusat Distribusi Sumatera Utara", english()),
            "Gudang Pusat Distribusi Sumater");
  // 31 characters, not bytes.
  EXPECT_EQ(template_sheet_name(std::string(40, 'x') , english()).size(), 31u);
  EXPECT_EQ(template_sheet_name("Toko Kopi Ségar Gunung Sitoli Nias", english()),
            "Toko Kopi Ségar Gunung Sitoli N");
  EXPECT_EQ(template_sheet_name("history", english()), "Stock");
  EXPECT_EQ(template_sheet_name("???", catalog_for("id")), "Stok");
}

TEST(TemplateWriter, AStoreWithCharactersASheetNameCannotHoldStillLoads) {
  TempDir dir("template");
  const TemplateSheet sheet{"Gudang [A]/B", {{"Arabika Gayo", 1}}};
  ASSERT_TRUE(write_template(sheet, english(), {}, dir / "t.xlsx").ok());
  EXPECT_EQ(cells_of(dir / "t.xlsx").sheet, "Gudang  A  B");
  fill(dir / "t.xlsx", dir / "filled.xlsx", "5");
  const Loaded l = load(dir / "filled.xlsx", "Gudang [A]/B");
  EXPECT_EQ(l.problems, "");
  EXPECT_EQ(l.rows, (Strings{"Gudang [A]/B|Arabika Gayo|5@2"}));
}

// --- The round trip ---------------------------------------------------------------------

// Writes medan() in `catalog`'s language, fills the counts with openpyxl and
// reads the filled sheet back as a report.
Loaded round_trip(const Catalog& catalog, const HeaderAliases& aliases, const std::string& counts) {
  TempDir dir("template");
  EXPECT_TRUE(write_template(medan(), catalog, aliases, dir / "medan.xlsx").ok());
  fill(dir / "medan.xlsx", dir / "filled.xlsx", counts);
  return load(dir / "filled.xlsx", "Medan", aliases);
}

TEST(TemplateWriter, AFilledSheetLoadsWithTheNewCountsNotTheLastOnes) {
  const Loaded l = round_trip(english(), {}, "20 7 0");
  EXPECT_EQ(l.problems, "");
  EXPECT_EQ(l.rows, (Strings{"Medan|Arabika Gayo|20@2", "Medan|Robusta Dairi|7@3",
                             "Medan|Liberika Jambi|0@4"}));
}

TEST(TemplateWriter, AFilledIndonesianSheetLoads) {
  const Loaded l = round_trip(catalog_for("id"), {}, "1 2 3");
  EXPECT_EQ(l.problems, "");
  ASSERT_EQ(l.rows.size(), 3u);
  EXPECT_EQ(l.rows[2], "Medan|Liberika Jambi|3@4");
}

TEST(TemplateWriter, ASheetWithOwnAliasesLoadsWithThem) {
  HeaderAliases aliases;
  aliases.store = {"lokasi"};
  aliases.count = {"qty", "last count"};
  const Loaded l = round_trip(english(), aliases, "4 5 6");
  EXPECT_EQ(l.problems, "");
  ASSERT_EQ(l.rows.size(), 3u);
  EXPECT_EQ(l.rows[0], "Medan|Arabika Gayo|4@2");
}

TEST(TemplateWriter, ACountLeftEmptyIsRefusedNamingItsCell) {
  TempDir dir("template");
  ASSERT_TRUE(write_template(medan(), english(), {}, dir / "medan.xlsx").ok());
  fill(dir / "medan.xlsx", dir / "filled.xlsx", "20 - 0");
  const Loaded l = load(dir / "filled.xlsx");
  EXPECT_EQ(l.problems,
            "sheet \"Medan\", cell D3: the count is empty; write 0 if the item is out of stock");
  // Sent back as it came, every count is missing.
  const Loaded unfilled = load(dir / "medan.xlsx");
  EXPECT_NE(unfilled.problems.find("cell D2: the count is empty"), std::string::npos)
      << unfilled.problems;
  EXPECT_NE(unfilled.problems.find("cell D4: the count is empty"), std::string::npos);
}

TEST(TemplateWriter, AStoreWithoutItemsGivesAHeaderOnlySheet) {
  TempDir dir("template");
  ASSERT_TRUE(write_template({"Medan", {}}, english(), {}, dir / "medan.xlsx").ok());
  EXPECT_EQ(cells_of(dir / "medan.xlsx").cells,
            (Strings{"A1=Store", "B1=Item", "C1=Last count", "D1=Count"}));
}

TEST(TemplateWriter, BytesAreTheSameWorkbook) {
  TempDir dir("template");
  auto bytes = template_bytes(medan(), english(), {}, dir.path());
  ASSERT_TRUE(bytes.ok()) << bytes.error().message();
  ASSERT_GT(bytes->size(), 4u);
  EXPECT_EQ(bytes->substr(0, 2), "PK");
  Cells cells;
  EXPECT_FALSE(workbook::read_workbook(*bytes, "", {}, cells).has_value());
  EXPECT_EQ(cells.cells.size(), 12u);
  EXPECT_TRUE(fs::is_empty(dir.path()));  // the temporary file is gone
}

// --- Errors -------------------------------------------------------------------------------

TEST(TemplateWriter, AnExistingFileIsNeverReplaced) {
  TempDir dir("template");
  test::write_file(dir / "medan.xlsx", "mine");
  const Status s = write_template(medan(), english(), {}, dir / "medan.xlsx");
  EXPECT_EQ(s.code(), ErrorCode::kInvalidInput);
  EXPECT_EQ(s.message(), (dir / "medan.xlsx").string() +
                             " exists already; remove it or choose another file (it is never "
                             "replaced)");
  EXPECT_EQ(test::read_file(dir / "medan.xlsx"), "mine");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(TemplateWriter, AFolderThatCannotBeWrittenLeavesNothing) {
  TempDir dir("template");
  Status s = write_template(medan(), english(), {}, dir / "missing" / "medan.xlsx");
  EXPECT_EQ(s.code(), ErrorCode::kNotFound);
  EXPECT_EQ(s.message(), "cannot write " + (dir / "missing" / "medan.xlsx").string() +
                             ": No such file or directory");
  if (::geteuid() != 0) {  // root writes anywhere
    fs::create_directory(dir / "ro");
    ::chmod((dir / "ro").c_str(), 0555);
    s = write_template(medan(), english(), {}, dir / "ro" / "medan.xlsx");
    EXPECT_EQ(s.code(), ErrorCode::kPermission);
    EXPECT_TRUE(fs::is_empty(dir / "ro"));
  }
}

TEST(TemplateWriter, TheWrittenFileIsReadableByOthers) {
  TempDir dir("template");
  ASSERT_TRUE(write_template(medan(), english(), {}, dir / "medan.xlsx").ok());
  struct stat st {};
  ASSERT_EQ(::stat((dir / "medan.xlsx").c_str(), &st), 0);
  const mode_t mask = ::umask(0);
  ::umask(mask);
  EXPECT_EQ(st.st_mode & 0777, 0666 & ~mask);
}

// --- The store's items from the inventory --------------------------------------------------

class TemplateSource : public ::testing::Test {
 protected:
  void SetUp() override {
    storage_ = Storage::open(dir_ / "t.db", StorageOptions{}, clock_);
  }
  void load(const std::vector<test::Row>& rows, const std::string& sha) {
    test::load_rows(*storage_, clock_, rows, sha + ".csv", sha);
  }
  TempDir dir_{"template"};
  ManualClock clock_;
  std::unique_ptr<Storage> storage_;
};

TEST_F(TemplateSource, TheStoresItemsInOrderWithTheirCounts) {
  load({{"Medan", "Robusta Dairi", 0}, {"Medan", "Arabika Gayo", 24}, {"Padang", "Solok", 3}},
       "a");
  auto sheet = template_sheet_of(*storage_, "Medan");
  ASSERT_TRUE(sheet.ok()) << sheet.error().message();
  EXPECT_EQ(sheet->store, "Medan");
  ASSERT_EQ(sheet->items.size(), 2u);
  EXPECT_EQ(sheet->items[0].item, "Arabika Gayo");
  EXPECT_EQ(sheet->items[0].last_count, 24);
  EXPECT_EQ(sheet->items[1].item, "Robusta Dairi");
  EXPECT_EQ(sheet->items[1].last_count, 0);
}

TEST_F(TemplateSource, AStoreIsFoundWithoutCaseWhenOnlyOneMatches) {
  load({{"Medan", "a", 1}, {"Padang", "b", 2}, {"padang", "c", 3}}, "a");
  auto sheet = template_sheet_of(*storage_, "medan");
  ASSERT_TRUE(sheet.ok());
  EXPECT_EQ(sheet->store, "Medan");
  // Two stores differ only in case: only the exact name picks one.
  EXPECT_EQ(template_sheet_of(*storage_, "padang")->items[0].item, "c");
  auto ambiguous = template_sheet_of(*storage_, "PADANG");
  EXPECT_EQ(ambiguous.error().code(), ErrorCode::kNotFound);
}

TEST_F(TemplateSource, AnUnknownStoreNamesTheStoresThereAre) {
  auto none = template_sheet_of(*storage_, "Bandung");
  EXPECT_EQ(none.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(none.error().message(),
            "no store \"Bandung\" in the inventory: it is empty until a first report has been "
            "loaded");
  load({{"Medan", "a", 1}, {"Padang", "b", 2}}, "a");
  auto unknown = template_sheet_of(*storage_, "Bandung");
  EXPECT_EQ(unknown.error().message(),
            "no store \"Bandung\" in the inventory; the stores are: Medan, Padang");
}

TEST_F(TemplateSource, AStoreWithManyItemsIsReadPageByPage) {
  std::vector<test::Row> rows;
  for (int i = 0; i < 2500; ++i) {
    rows.push_back({"Medan", "item " + std::to_string(10000 + i), i});
  }
  rows.push_back({"Nias", "x", 1});
  load(rows, "a");
  auto sheet = template_sheet_of(*storage_, "Medan");
  ASSERT_TRUE(sheet.ok());
  ASSERT_EQ(sheet->items.size(), 2500u);
  EXPECT_EQ(sheet->items.back().item, "item 12499");
  EXPECT_EQ(sheet->items.back().last_count, 2499);
}

}  // namespace
}  // namespace stockwatch
