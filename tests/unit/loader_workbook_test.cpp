// The loader with workbooks (.xlsx, .ods): the same path as a CSV report
// after reading (ledger, exactly once by content, key order, duplicates,
// rejection), the sheet rule, read through the descriptor the loader opened,
// and a workbook named .csv. The workbooks are made by real spreadsheet
// programs (tests/unit/workbook_fixtures.hpp).
#include "pipeline/loader.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "report/report_problem.hpp"
#include "test_util.hpp"
#include "text/catalog.hpp"
#include "workbook_fixtures.hpp"

namespace stockwatch {
namespace {

namespace fs = std::filesystem;
using test::fixtures;
using test::have_libreoffice;
using test::RawDb;
using test::TempDir;

class LoaderWorkbookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage_ = Storage::open(dir_ / "stockwatch.db", {}, clock_);
    fs::create_directories(inbox());
    options_.confine_to = inbox();
  }

  [[nodiscard]] fs::path inbox() const { return dir_ / "inbox"; }

  // Copies the fixture `fixture` to inbox/<name> and loads it as <name>.
  Result<LoadOutcome> load(const std::string& fixture, const std::string& name) {
    fs::create_directories((inbox() / name).parent_path());
    fs::copy_file(fixtures() / fixture, inbox() / name, fs::copy_options::overwrite_existing);
    Loader loader(*storage_, clock_, options_);
    return loader.load(inbox() / name, name);
  }

  std::string inventory() {
    RawDb raw(dir_ / "stockwatch.db");
    std::string out;
    for (const std::string& row : raw.rows("SELECT store, item, count FROM inventory ORDER BY store, item")) {
      out += (out.empty() ? "" : " ") + row;
    }
    return out;
  }

  std::int64_t count_rows(const std::string& table) {
    RawDb raw(dir_ / "stockwatch.db");
    return raw.integer("SELECT COUNT(*) FROM " + table);
  }

  TempDir dir_{"loader_workbook"};
  ManualClock clock_;
  std::unique_ptr<Storage> storage_;
  LoaderOptions options_;
};

TEST_F(LoaderWorkbookTest, AnXlsxLoadsLikeACsvReport) {
  auto out = load("basic.xlsx", "2026-11.xlsx");
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(out->status, ReportStatus::kLoaded) << out->error;
  EXPECT_EQ(out->rows, 3);
  EXPECT_EQ(out->changes, 3);
  EXPECT_EQ(inventory(), "Medan|beras|12 Medan|gula|12 Medan|kopi|7");
  EXPECT_EQ(count_rows("reports WHERE status = 'loaded' AND sha256 != ''"), 1);
}

TEST_F(LoaderWorkbookTest, TheSameWorkbookAgainIsADuplicate) {
  auto first = load("basic.xlsx", "2026-11.xlsx");
  ASSERT_TRUE(first.ok()) << first.error().message();
  auto again = load("basic.xlsx", "2026-11-again.xlsx");
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(again->status, ReportStatus::kDuplicate);
  EXPECT_EQ(again->duplicate_of, first->report_id);
}

TEST_F(LoaderWorkbookTest, TheDateColumnDatesTheReport) {
  for (const std::string fixture : {"dated.xlsx", "lo/dated.ods"}) {
    if (fixture.starts_with("lo/") && !have_libreoffice()) continue;
    auto out = load(fixture, "medan/" + fs::path(fixture).filename().string());
    ASSERT_TRUE(out.ok()) << out.error().message();
    ASSERT_EQ(out->status, ReportStatus::kLoaded) << fixture << ": " << out->error;
    auto rec = storage_->report(out->report_id);
    ASSERT_TRUE(rec.ok() && rec->has_value());
    EXPECT_EQ((*rec)->date_source, "column") << fixture;
    EXPECT_EQ((*rec)->report_day, std::optional<std::int64_t>(20787)) << fixture;  // 2026-11-30
  }
}

TEST_F(LoaderWorkbookTest, AnOdsLoads) {
  if (!have_libreoffice()) GTEST_SKIP() << "soffice is not installed";
  auto out = load("lo/basic.ods", "2026-11.ods");
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(out->status, ReportStatus::kLoaded) << out->error;
  EXPECT_EQ(inventory(), "Medan|beras|12 Medan|gula|12 Medan|kopi|7");
}

TEST_F(LoaderWorkbookTest, RowsOutOfKeyOrderAreSortedWithAndWithoutReadingAhead) {
  for (const std::uint64_t ahead : {std::uint64_t{1}, std::uint64_t{1} << 40}) {
    // A fresh database each time: the same workbook again would be a duplicate.
    storage_.reset();
    for (const char* ext : {"", "-wal", "-shm"}) fs::remove(dir_ / (std::string("stockwatch.db") + ext));
    storage_ = Storage::open(dir_ / "stockwatch.db", {}, clock_);
    options_.read_ahead_bytes = ahead;
    auto out = load("unordered.xlsx", "unordered-" + std::to_string(ahead) + ".xlsx");
    ASSERT_TRUE(out.ok()) << out.error().message();
    EXPECT_EQ(out->status, ReportStatus::kLoaded) << out->error;
    EXPECT_EQ(out->rows, 3);
    EXPECT_EQ(inventory(), "Makassar|gula|2 Medan|beras|1 Medan|kopi|3");
  }
}

TEST_F(LoaderWorkbookTest, ARowListedTwiceIsRejectedNamingTheRows) {
  auto out = load("duplicate.xlsx", "dup.xlsx");
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(out->status, ReportStatus::kRejected);
  EXPECT_EQ(out->error,
            "sheet \"Stok\", row 4: store 'Medan' and item 'kopi' are already on line 2; list "
            "each item once");
  EXPECT_EQ(count_rows("inventory"), 0);
  EXPECT_EQ(rendered_problems(out->problems, out->error, english()), out->error);
  EXPECT_EQ(rendered_problems(out->problems, out->error, catalog_for("id")).rfind("lembar \"Stok\", baris 4: ", 0),
            0u);
}

TEST_F(LoaderWorkbookTest, ProblemsNameTheSheetAndTheCell) {
  auto out = load("decimal.xlsx", "decimal.xlsx");
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(out->status, ReportStatus::kRejected);
  EXPECT_EQ(out->error,
            "sheet \"Stok\", cell C2: '12.5' is not a whole number; counts are whole units");
  EXPECT_EQ(out->summary(),
            "rejected: sheet \"Stok\", cell C2: '12.5' is not a whole number; counts are whole "
            "units");
  EXPECT_EQ(count_rows("inventory"), 0);
  // Stored with their sheet and cell, so the .error.txt and the alerts
  // render them in [alerts] language as they do a CSV's.
  EXPECT_EQ(rendered_problems(out->problems, out->error, english()), out->error);
  EXPECT_EQ(rendered_problems(out->problems, out->error, catalog_for("id")),
            "lembar \"Stok\", sel C2: '12.5' bukan bilangan bulat; jumlah dihitung per satuan utuh");
}

TEST_F(LoaderWorkbookTest, TheSheetNamedLikeTheReportsFolderIsRead) {
  // Sheets "Catatan" (notes) then "Medan" (the data).
  auto top = load("extra_sheet.xlsx", "extra.xlsx");
  ASSERT_TRUE(top.ok()) << top.error().message();
  EXPECT_EQ(top->status, ReportStatus::kRejected);
  EXPECT_EQ(top->error.rfind("sheet \"Catatan\"", 0), 0u) << top->error;
  auto in_folder = load("extra_sheet.xlsx", "medan/2026-11.xlsx");
  ASSERT_TRUE(in_folder.ok()) << in_folder.error().message();
  EXPECT_EQ(in_folder->status, ReportStatus::kLoaded) << in_folder->error;
  EXPECT_EQ(inventory(), "Medan|beras|4");
}

TEST_F(LoaderWorkbookTest, HostileWorkbooksAreRejectedWithTheirReason) {
  auto bomb = load("bomb.xlsx", "bomb.xlsx");
  ASSERT_TRUE(bomb.ok()) << bomb.error().message();
  EXPECT_EQ(bomb->status, ReportStatus::kRejected);
  EXPECT_EQ(bomb->error,
            "sheet \"Stok\": the workbook unpacks to far more than its size "
            "(xl/worksheets/sheet1.xml), as a zip bomb does; save it again from the spreadsheet "
            "program");
  auto locked = load("protected.xlsx", "locked.xlsx");
  ASSERT_TRUE(locked.ok()) << locked.error().message();
  EXPECT_EQ(locked->status, ReportStatus::kRejected);
  EXPECT_EQ(locked->error, "the workbook is protected with a password; save it without one");
  // Stored as codes: the .error.txt and the rejection alert and reply are in
  // [alerts] language, the English byte for byte as before.
  EXPECT_EQ(rendered_problems(locked->problems, locked->error, english()), locked->error);
  EXPECT_EQ(rendered_problems(locked->problems, locked->error, catalog_for("id")),
            "buku kerja dilindungi kata sandi; simpan ulang tanpa kata sandi");
  EXPECT_EQ(rendered_problems(bomb->problems, bomb->error, english()), bomb->error);
  EXPECT_EQ(rendered_problems(bomb->problems, bomb->error, catalog_for("id")),
            "lembar \"Stok\": isi buku kerja jauh lebih besar daripada ukuran berkasnya "
            "(xl/worksheets/sheet1.xml), seperti bom zip; simpan ulang dari program lembar kerja");
}

TEST_F(LoaderWorkbookTest, TheCapsFromTheOptionsApply) {
  options_.workbook.max_shared_strings = 2;
  auto out = load("strings.xlsx", "strings.xlsx");
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(out->status, ReportStatus::kRejected);
  EXPECT_NE(out->error.find("shared"), std::string::npos) << out->error;
}

TEST_F(LoaderWorkbookTest, AWorkbookNamedCsvIsToldToBeNamedXlsx) {
  auto out = load("basic.xlsx", "2026-11.csv");
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(out->status, ReportStatus::kRejected);
  EXPECT_EQ(out->error,
            "the file is a workbook (or another zip archive), not CSV; if it is a workbook, name "
            "it .xlsx (Excel) or .ods (LibreOffice), or save it as CSV");
  auto xls = load("old.xls", "old.csv");
  ASSERT_TRUE(xls.ok()) << xls.error().message();
  EXPECT_EQ(xls->error, "the file is an old Excel workbook (.xls), not CSV; save it as .xlsx or CSV");
  EXPECT_EQ(rendered_problems(out->problems, out->error, english()), out->error);
  EXPECT_EQ(rendered_problems(xls->problems, xls->error, english()), xls->error);
  EXPECT_EQ(rendered_problems(xls->problems, xls->error, catalog_for("id")),
            "berkas ini buku kerja Excel versi lama (.xls), bukan CSV; simpan sebagai .xlsx atau CSV");
}

TEST_F(LoaderWorkbookTest, ACsvNamedXlsxIsToldToBeNamedCsv) {
  auto out = load("csv_named.xlsx", "2026-11.xlsx");
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(out->status, ReportStatus::kRejected);
  EXPECT_EQ(out->error, "the file is text, not a workbook; if it is CSV, name it .csv");
  EXPECT_EQ(rendered_problems(out->problems, out->error, catalog_for("id")),
            "berkas ini berisi teks, bukan buku kerja; jika isinya CSV, beri nama berakhiran .csv");
}

TEST_F(LoaderWorkbookTest, TheWorkbookIsReadFromTheOpenedDescriptorNotByName) {
  fs::copy_file(fixtures() / "basic.xlsx", inbox() / "r.xlsx");
  Loader loader(*storage_, clock_, options_);
  auto opened = loader.open(inbox() / "r.xlsx");
  ASSERT_TRUE(opened.ok()) << opened.error().message();
  // The name now leads to another workbook; the opened file is still read.
  fs::remove(inbox() / "r.xlsx");
  fs::copy_file(fixtures() / "decimal.xlsx", inbox() / "r.xlsx");
  auto out = loader.load(*opened, "r.xlsx");
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(out->status, ReportStatus::kLoaded) << out->error;
  EXPECT_EQ(out->rows, 3);
}

}  // namespace
}  // namespace stockwatch
