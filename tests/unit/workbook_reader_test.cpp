// The workbook reader: every rule and every error, on workbooks written by
// real spreadsheet programs (tests/support/make_workbooks.py: openpyxl and
// LibreOffice) and on hostile files written byte by byte.
#include "report/report_format.hpp"
#include "report/workbook/workbook_problem.hpp"
#include "report/workbook/workbook_reader.hpp"
#include "report/workbook/workbook_report.hpp"
#include "text/catalog.hpp"
#include "workbook_fixtures.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace stockwatch::workbook {
namespace {

namespace fs = std::filesystem;
using test::fixtures;
using test::have_libreoffice;

struct Loaded {
  std::vector<std::string> rows;  // "store|item|count@line"
  std::string problems;
  std::string sheet;
};

Loaded load(const std::string& name, std::string_view store = "", WorkbookLimits limits = {}) {
  ReportParser parser;
  WorkbookReport report(parser, HeaderAliases{}, limits);
  Loaded out;
  report.read_file((fixtures() / name).string(), store, [&](const ReportRow& r) {
    out.rows.push_back(std::string(r.store) + "|" + std::string(r.item) + "|" +
                       std::to_string(r.count) + "@" + std::to_string(r.line));
  });
  out.problems = report.problems_text();
  out.sheet = report.sheet();
  EXPECT_EQ(report.ok(), out.problems.empty());
  return out;
}


using Rows = std::vector<std::string>;

#define SKIP_WITHOUT_LIBREOFFICE() \
  if (!have_libreoffice()) GTEST_SKIP() << "soffice is not installed"

// ---- what is read ------------------------------------------------------------

TEST(WorkbookReader, OpenpyxlNumbersWholeAsIntOrFloatEmptyRowsAndTrailingCellsSkipped) {
  const Loaded l = load("basic.xlsx");
  EXPECT_EQ(l.sheet, "Stok");
  EXPECT_EQ(l.rows, (Rows{"Medan|beras|12@2", "Medan|gula|12@3", "Medan|kopi|7@5"}));
  EXPECT_EQ(l.problems, "");
}

TEST(WorkbookReader, LibreOfficeXlsxAndOdsReadTheSame) {
  SKIP_WITHOUT_LIBREOFFICE();
  for (const char* name : {"lo/basic.xlsx", "lo/basic.ods"}) {
    const Loaded l = load(name, "Medan");
    EXPECT_EQ(l.rows, (Rows{"Medan|beras|12@2", "Medan|gula|12@3", "Medan|kopi|7@5"})) << name;
    EXPECT_EQ(l.problems, "") << name;
  }
}

// Gnumeric writes texts as inline strings, indents its XML, and keeps an
// empty row repeated to the end of the sheet in .ods.
TEST(WorkbookReader, GnumericXlsxAndOdsReadTheSame) {
  if (!fs::exists(fixtures() / "gnumeric" / "basic.ods")) GTEST_SKIP() << "ssconvert is not installed";
  for (const char* ext : {".xlsx", ".ods"}) {
    const std::string dir = "gnumeric/";
    const Loaded basic = load(dir + "basic" + ext);
    EXPECT_EQ(basic.sheet, "Stok") << ext;
    EXPECT_EQ(basic.rows, (Rows{"Medan|beras|12@2", "Medan|gula|12@3", "Medan|kopi|7@5"})) << ext;
    EXPECT_EQ(basic.problems, "") << ext;

    const Loaded formulas = load(dir + "formulas" + ext);
    EXPECT_EQ(formulas.rows, (Rows{"Medan|beras|12@2", "Medan|gula|13@3", "Medan|kopi|3@4"}))
        << ext;
    EXPECT_EQ(formulas.problems, "") << ext;

    const Loaded indonesian = load(dir + "indonesian" + ext);
    EXPECT_EQ(indonesian.rows, (Rows{"Medan|beras|1000@2"})) << ext;
    EXPECT_EQ(indonesian.problems,
              "sheet \"Stok\", cell C3: '1.000' is not a whole number; write 1000")
        << ext;

    const Loaded extra = load(dir + "extra_sheet" + ext, "Medan");
    EXPECT_EQ(extra.sheet, "Medan") << ext;
    EXPECT_EQ(extra.rows, (Rows{"Medan|beras|4@2"})) << ext;
    EXPECT_EQ(load(dir + "extra_sheet" + ext).sheet, "Catatan") << ext;
  }
}

TEST(WorkbookReader, SharedInlineAndRichTextStrings) {
  const Loaded l = load("strings.xlsx");
  EXPECT_EQ(l.rows, (Rows{"Medan|beras|5@2", "Medan|gula|6@5"}));
  EXPECT_EQ(l.problems, "");
}

TEST(WorkbookReader, FractionIsAnErrorNamingTheCell) {
  EXPECT_EQ(load("decimal.xlsx").problems,
            "sheet \"Stok\", cell C2: '12.5' is not a whole number; counts are whole units");
}

TEST(WorkbookReader, IndonesianSheetNumberFormattedAsThousandsAndTextAsCsv) {
  const Loaded l = load("indonesian.xlsx");
  EXPECT_EQ(l.rows, (Rows{"Medan|beras|1000@2"}));
  EXPECT_EQ(l.problems, "sheet \"Stok\", cell C3: '1.000' is not a whole number; write 1000");
  SKIP_WITHOUT_LIBREOFFICE();
  for (const char* name : {"lo/indonesian.xlsx", "lo/indonesian.ods"}) {
    const Loaded lo = load(name);
    EXPECT_EQ(lo.rows, (Rows{"Medan|beras|1000@2"})) << name;
    EXPECT_EQ(lo.problems, "sheet \"Stok\", cell C3: '1.000' is not a whole number; write 1000")
        << name;
  }
}

TEST(WorkbookReader, FormulasGiveTheirSavedValues) {
  SKIP_WITHOUT_LIBREOFFICE();
  for (const char* name : {"lo/formulas.xlsx", "lo/formulas.ods"}) {
    const Loaded l = load(name);
    EXPECT_EQ(l.rows, (Rows{"Medan|beras|12@2", "Medan|gula|13@3", "Medan|kopi|3@4"})) << name;
    EXPECT_EQ(l.problems, "") << name;
  }
}

TEST(WorkbookReader, FormulaWithoutSavedValueTellsToOpenAndSave) {
  const std::string want =
      "sheet \"Stok\", cell C2: the formula has no saved value; open the file in the "
      "spreadsheet program and save it again";
  EXPECT_EQ(load("formulas.xlsx").problems, want);  // openpyxl never computes formulas
  EXPECT_EQ(load("no_cached_value.xlsx").problems, want);
  EXPECT_EQ(load("ods_no_value.ods").problems, want);
}

TEST(WorkbookReader, FormulaErrorValue) {
  EXPECT_EQ(load("formula_error.xlsx").problems,
            "sheet \"Stok\", cell C2: the cell shows the error #DIV/0!; correct the formula and "
            "save again");
}

TEST(WorkbookReader, DateInTheCountColumn) {
  const std::string want =
      "sheet \"Stok\", cell C2: the count is a date (45352); format the count column as a "
      "number, not a date";
  EXPECT_EQ(load("date.xlsx").problems, want);
  SKIP_WITHOUT_LIBREOFFICE();
  EXPECT_EQ(load("lo/date.xlsx").problems, want);
  EXPECT_EQ(load("lo/date.ods").problems,
            "sheet \"Stok\", cell C2: the count is a date (2024-03-01); format the count column "
            "as a number, not a date");
}

TEST(WorkbookReader, MergedCellsInTheData) {
  const std::string want =
      "sheet \"Stok\", cell A2: the cells A2:A3 are merged; unmerge them and write the value in "
      "each cell\nsheet \"Stok\", cell A3: the store is empty";
  EXPECT_EQ(load("merged.xlsx").problems, want);
  SKIP_WITHOUT_LIBREOFFICE();
  EXPECT_EQ(load("lo/merged.xlsx").problems, want);
  EXPECT_EQ(load("lo/merged.ods").problems, want);
}

// ---- the sheet rule ------------------------------------------------------------

TEST(WorkbookReader, SheetNamedLikeTheStoreWinsOverTheFirst) {
  const Loaded l = load("extra_sheet.xlsx", " medan ");
  EXPECT_EQ(l.sheet, "Medan");
  EXPECT_EQ(l.rows, (Rows{"Medan|beras|4@2"}));
  EXPECT_EQ(l.problems, "");
  const Loaded o = load("ods_two_tables.ods", "MEDAN");
  EXPECT_EQ(o.sheet, "Medan");
  EXPECT_EQ(o.rows, (Rows{"Medan|beras|8@2"}));
  SKIP_WITHOUT_LIBREOFFICE();
  EXPECT_EQ(load("lo/extra_sheet.xlsx", "Medan").rows, (Rows{"Medan|beras|4@2"}));
  EXPECT_EQ(load("lo/extra_sheet.ods", "Medan").rows, (Rows{"Medan|beras|4@2"}));
}

TEST(WorkbookReader, OtherwiseTheFirstSheet) {
  const Loaded l = load("extra_sheet.xlsx", "Binjai");
  EXPECT_EQ(l.sheet, "Catatan");
  EXPECT_EQ(l.problems.substr(0, l.problems.find('\n')),
            "sheet \"Catatan\", row 1: the header has no store column (found: Catatan, bukan "
            "data); name it one of: store, gudang, toko, warehouse");
}

// ---- .ods ----------------------------------------------------------------------

TEST(WorkbookReader, OdsRepeatedEmptyRowsAndColumnsCostNothing) {
  const Loaded l = load("repeated.ods");
  EXPECT_EQ(l.rows, (Rows{"Medan|be  ras|1000@2", "Medan|gula|3@1048573"}));
  EXPECT_EQ(l.problems, "");
}

TEST(WorkbookReader, OdsRepeatedDataRowIsCapped) {
  EXPECT_EQ(load("ods_repeated_data.ods").problems,
            "sheet \"Stok\", cell A2: the row is repeated 2000 times; delete the copies");
  WorkbookLimits limits;
  limits.max_repeat = 2000;
  EXPECT_EQ(load("ods_repeated_data.ods", "", limits).rows.size(), 2000u);
}

// ---- caps and hostile files ------------------------------------------------------

TEST(WorkbookReader, SharedStringCap) {
  WorkbookLimits limits;
  limits.max_shared_strings = 10;
  EXPECT_EQ(load("many_strings.xlsx", "", limits).problems,
            "the workbook has more than 10 different texts (shared strings), more than a stock "
            "report needs; remove the unused sheets or raise the limit in the settings");
}

TEST(WorkbookReader, SharedStringBytesAndCellCaps) {
  WorkbookLimits limits;
  limits.max_shared_string_bytes = 10;
  EXPECT_EQ(load("many_strings.xlsx", "", limits).problems,
            "the workbook's texts (shared strings) take more than 10 bytes; remove the unused "
            "sheets or raise the limit in the settings");
  limits = {};
  limits.max_cell_bytes = 3;
  EXPECT_EQ(load("strings.xlsx", "", limits).problems,
            "a text in the workbook is longer than 3 bytes");
  EXPECT_EQ(load("formula_error.xlsx", "", limits).problems,
            "sheet \"Stok\", cell A1: the cell holds more than 3 bytes");
  EXPECT_EQ(load("repeated.ods", "", limits).problems,
            "sheet \"Stok\", cell A1: the cell holds more than 3 bytes");
}

TEST(WorkbookReader, TextWithLineBreakKeepsLaterCellsNamedRight) {
  const Loaded l = load("line_break.xlsx");
  EXPECT_EQ(l.problems.substr(l.problems.rfind('\n') + 1),
            "sheet \"Stok\", cell C3: 'x' is not a whole number");
}

TEST(WorkbookReader, ZipBombByRatioAndBySize) {
  const std::string want =
      "sheet \"Stok\": the workbook unpacks to far more than its size "
      "(xl/worksheets/sheet1.xml), as a zip bomb does; save it again from the spreadsheet "
      "program";
  EXPECT_EQ(load("bomb.xlsx").problems, want);
  WorkbookLimits limits;
  limits.max_ratio = 1'000'000;
  limits.max_inflated_bytes = 1024 * 1024;
  EXPECT_EQ(load("bomb.xlsx", "", limits).problems, want);
}

TEST(WorkbookReader, EntitiesAreNeverExpanded) {
  const std::string want =
      "sheet \"Stok\": the workbook's XML declares a document type (entities), which a workbook "
      "never needs; save it again from the spreadsheet program";
  EXPECT_EQ(load("entities.xlsx").problems, want);
  EXPECT_EQ(load("external_entity.xlsx").problems, want);
}

TEST(WorkbookReader, DeepNesting) {
  EXPECT_EQ(load("deep.xlsx").problems,
            "sheet \"Stok\": the workbook's XML is nested too deeply; save it again from the "
            "spreadsheet program");
}

TEST(WorkbookReader, EntryOutsideTheArchive) {
  EXPECT_EQ(load("traversal.xlsx").problems,
            "the workbook holds an entry named outside the archive; save it again from the "
            "spreadsheet program");
}

TEST(WorkbookReader, PasswordProtected) {
  const std::string want = "the workbook is protected with a password; save it without one";
  EXPECT_EQ(load("protected.xlsx").problems, want);
  EXPECT_EQ(load("encrypted_entry.xlsx").problems, want);
  EXPECT_EQ(load("ods_encrypted.ods").problems, want);
}

TEST(WorkbookReader, WrongKindsOfFile) {
  EXPECT_EQ(load("old.xls").problems,
            "the file is an old Excel workbook (.xls); save it as .xlsx or CSV");
  EXPECT_EQ(load("csv_named.xlsx").problems,
            "the file is text, not a workbook; if it is CSV, name it .csv");
  EXPECT_EQ(load("not_workbook.xlsx").problems,
            "the file is a zip archive but not a workbook; save it as .xlsx, .ods or CSV");
  EXPECT_EQ(load("binary.xlsx").problems,
            "the file is not a workbook; save it as .xlsx, .ods or CSV");
}

TEST(WorkbookReader, DamagedParts) {
  EXPECT_EQ(load("damaged_xml.xlsx").problems,
            "sheet \"Stok\": the workbook's XML is damaged (Opening and ending tag mismatch: c "
            "line 1 and sheetData at line 1); save it again from the spreadsheet program");
  EXPECT_EQ(load("bad_string_index.xlsx").problems,
            "sheet \"Stok\", cell A1: the workbook is damaged (the cell names a text that is not "
            "there)");
}

// ---- the problems in the reader's language -------------------------------------

// The problems as the edges show them (the .error.txt, the rejection alert
// and reply, the console): rendered from their stored form in `language`.
std::string problems_in(const std::string& language, const std::string& name) {
  ReportParser parser;
  WorkbookReport report(parser, HeaderAliases{});
  report.read_file((fixtures() / name).string(), "", [](const ReportRow&) {});
  const std::string text = report.problems_text();
  // English from the stored form is what the reader wrote, byte for byte.
  EXPECT_EQ(rendered_problems(report.problems_json(), text, english()), text) << name;
  return rendered_problems(report.problems_json(), text, catalog_for(language));
}

std::string bytes_problems_in(const std::string& language, std::string_view bytes) {
  ReportParser parser;
  WorkbookReport report(parser, HeaderAliases{});
  report.read(bytes, "", [](const ReportRow&) {});
  const std::string text = report.problems_text();
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(rendered_problems(report.problems_json(), text, english()), text);
  return rendered_problems(report.problems_json(), text, catalog_for(language));
}

std::string fixture_bytes(const std::string& name) {
  std::ifstream in(fixtures() / name, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(WorkbookProblemLanguage, EncryptedInIndonesian) {
  const std::string want = "buku kerja dilindungi kata sandi; simpan ulang tanpa kata sandi";
  EXPECT_EQ(problems_in("id", "protected.xlsx"), want);
  EXPECT_EQ(problems_in("id", "encrypted_entry.xlsx"), want);
  EXPECT_EQ(problems_in("id", "ods_encrypted.ods"), want);
  EXPECT_EQ(problems_in("en", "protected.xlsx"),
            "the workbook is protected with a password; save it without one");
}

TEST(WorkbookProblemLanguage, CountFormattedAsADateInIndonesian) {
  EXPECT_EQ(problems_in("id", "date.xlsx"),
            "lembar \"Stok\", sel C2: jumlahnya berupa tanggal (45352); ubah format kolom jumlah "
            "menjadi angka, bukan tanggal");
}

TEST(WorkbookProblemLanguage, NotAWorkbookInIndonesian) {
  EXPECT_EQ(problems_in("id", "binary.xlsx"),
            "berkas ini bukan buku kerja; simpan sebagai .xlsx, .ods, atau CSV");
  EXPECT_EQ(problems_in("id", "not_workbook.xlsx"),
            "berkas ini arsip zip, tetapi bukan buku kerja; simpan sebagai .xlsx, .ods, atau CSV");
  EXPECT_EQ(problems_in("id", "csv_named.xlsx"),
            "berkas ini berisi teks, bukan buku kerja; jika isinya CSV, beri nama berakhiran .csv");
  EXPECT_EQ(problems_in("id", "old.xls"),
            "berkas ini buku kerja Excel versi lama (.xls); simpan sebagai .xlsx atau CSV");
}

TEST(WorkbookProblemLanguage, DamagedZipInIndonesian) {
  const std::string whole = fixture_bytes("basic.xlsx");
  ASSERT_GT(whole.size(), 200u);
  // Cut short: the archive's directory at its end is gone. The reason after
  // the colon is libzip's own and stays as libzip words it.
  EXPECT_EQ(bytes_problems_in("id", std::string_view(whole).substr(0, whole.size() / 2)),
            "buku kerja tidak dapat dibuka sebagai arsip zip: Not a zip archive");
  // A damaged entry: a byte of every entry's data flipped after the
  // directory was written (the CRC no longer fits).
  std::string flipped = whole;
  for (std::size_t at = 0; (at = flipped.find(std::string_view("PK\x03\x04", 4), at)) != std::string::npos; at += 4) {
    const auto name_len = static_cast<unsigned char>(flipped[at + 26]) |
                          (static_cast<unsigned char>(flipped[at + 27]) << 8);
    const auto extra_len = static_cast<unsigned char>(flipped[at + 28]) |
                           (static_cast<unsigned char>(flipped[at + 29]) << 8);
    const std::size_t data = at + 30 + name_len + extra_len;
    if (data + 2 < flipped.size()) flipped[data + 1] = static_cast<char>(flipped[data + 1] ^ 0x55);
  }
  const std::string damaged = bytes_problems_in("id", flipped);
  EXPECT_NE(damaged.find("buku kerja rusak ("), std::string::npos) << damaged;
  EXPECT_EQ(damaged.find("the workbook"), std::string::npos) << damaged;
}

TEST(WorkbookProblemLanguage, OtherProblemsInIndonesian) {
  EXPECT_EQ(problems_in("id", "merged.xlsx"),
            "lembar \"Stok\", sel A2: sel A2:A3 digabung; pisahkan lagi lalu tulis nilainya di "
            "setiap sel\nlembar \"Stok\", sel A3: nama gudang kosong");
  EXPECT_EQ(problems_in("id", "bomb.xlsx"),
            "lembar \"Stok\": isi buku kerja jauh lebih besar daripada ukuran berkasnya "
            "(xl/worksheets/sheet1.xml), seperti bom zip; simpan ulang dari program lembar kerja");
  EXPECT_EQ(problems_in("id", "damaged_xml.xlsx"),
            "lembar \"Stok\": XML buku kerja rusak (Opening and ending tag mismatch: c line 1 and "
            "sheetData di baris 1); simpan ulang dari program lembar kerja");
  EXPECT_EQ(problems_in("id", "bad_string_index.xlsx"),
            "lembar \"Stok\", sel A1: buku kerja rusak (sel merujuk ke teks yang tidak ada)");
  EXPECT_EQ(problems_in("id", "traversal.xlsx"),
            "buku kerja memuat entri yang namanya menunjuk ke luar arsip; simpan ulang dari "
            "program lembar kerja");
  EXPECT_EQ(problems_in("id", "formula_error.xlsx"),
            "lembar \"Stok\", sel C2: sel ini menampilkan galat #DIV/0!; perbaiki rumusnya lalu "
            "simpan ulang");
  EXPECT_NE(problems_in("id", "no_cached_value.xlsx")
                .find(": rumus ini tidak punya nilai tersimpan; buka berkasnya di program lembar "
                      "kerja lalu simpan ulang"),
            std::string::npos);
}

// The placeholders of a template: "{part}" and "{line}" -> {"line", "part"}.
std::vector<std::string> placeholders(std::string_view tmpl) {
  std::vector<std::string> names;
  for (std::size_t open = tmpl.find('{'); open != std::string_view::npos;
       open = tmpl.find('{', open + 1)) {
    const std::size_t close = tmpl.find('}', open);
    if (close == std::string_view::npos) break;
    names.emplace_back(tmpl.substr(open + 1, close - open - 1));
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(WorkbookProblemLanguage, EveryWorkbookCodeHasBothLanguages) {
  // Every code a workbook's reading raises (the codes from kCountIsDate to
  // the end of the list): an English text, an Indonesian text of its own
  // with the same placeholders, and a stored form that keeps the code and
  // its values, so it renders in either language later.
  const auto first = static_cast<int>(ProblemCode::kCountIsDate);
  const auto last = static_cast<int>(ProblemCode::kCsvIsXls);
  for (int c = first; c <= last; ++c) {
    const auto code = static_cast<ProblemCode>(c);
    const std::string key = "problem." + std::string(problem_code_name(code));
    ASSERT_NE(problem_code_name(code), "text") << c;
    EXPECT_NE(english().text(key), key) << key;
    EXPECT_TRUE(catalog_for("id").has(key)) << key;
    EXPECT_NE(catalog_for("id").text(key), english().text(key)) << key;
    const std::vector<std::string> names = placeholders(english().text(key));
    EXPECT_EQ(placeholders(catalog_for("id").text(key)), names) << key;

    WorkbookProblem::Args args;
    for (const std::string& n : names) args.emplace_back(n, "<" + n + ">");
    const WorkbookProblem raised = WorkbookProblem(code, args).at("Stok", "C7");
    const auto stored =
        problems_from_json(problems_to_json(std::vector<ReportProblem>{raised}, 1));
    ASSERT_TRUE(stored.has_value()) << key;
    const ReportProblem& back = stored->problems.at(0);
    EXPECT_EQ(back.code, code) << key;
    EXPECT_EQ(back.args, args) << key;
    EXPECT_EQ(back.render(english()), raised.to_string()) << key;
    EXPECT_EQ(back.render(catalog_for("id")), raised.render(catalog_for("id"))) << key;
    EXPECT_TRUE(raised.to_string().starts_with("sheet \"Stok\", cell C7: ")) << key;
    EXPECT_TRUE(raised.render(catalog_for("id")).starts_with("lembar \"Stok\", sel C7: ")) << key;
  }
}

// The reader raises each problem with its code and values where it finds
// it: the stored form holds them, never a text to be taken apart again.
std::vector<ReportProblem> stored_problems(const std::string& name) {
  ReportParser parser;
  WorkbookReport report(parser, HeaderAliases{});
  report.read_file((fixtures() / name).string(), "", [](const ReportRow&) {});
  const auto stored = problems_from_json(report.problems_json());
  EXPECT_TRUE(stored.has_value()) << name;
  return stored ? stored->problems : std::vector<ReportProblem>{};
}

TEST(WorkbookProblemLanguage, ProblemsAreRaisedWithTheirCodesAndValues) {
  using Args = WorkbookProblem::Args;
  const auto one = [](const std::string& name) {
    const std::vector<ReportProblem> all = stored_problems(name);
    EXPECT_EQ(all.size(), 1u) << name;
    return all.empty() ? ReportProblem{} : all.front();
  };
  EXPECT_EQ(one("protected.xlsx").code, ProblemCode::kWorkbookPassword);
  EXPECT_EQ(one("encrypted_entry.xlsx").code, ProblemCode::kWorkbookPassword);
  EXPECT_EQ(one("ods_encrypted.ods").code, ProblemCode::kWorkbookPassword);
  EXPECT_EQ(one("old.xls").code, ProblemCode::kFileXls);
  EXPECT_EQ(one("csv_named.xlsx").code, ProblemCode::kFileText);
  EXPECT_EQ(one("binary.xlsx").code, ProblemCode::kFileNotWorkbook);
  EXPECT_EQ(one("not_workbook.xlsx").code, ProblemCode::kZipNotWorkbook);
  EXPECT_EQ(one("traversal.xlsx").code, ProblemCode::kWorkbookOutsideEntry);
  EXPECT_EQ(one("deep.xlsx").code, ProblemCode::kWorkbookXmlTooDeep);
  EXPECT_EQ(one("entities.xlsx").code, ProblemCode::kWorkbookXmlDoctype);

  const ReportProblem bomb = one("bomb.xlsx");
  EXPECT_EQ(bomb.code, ProblemCode::kWorkbookZipBomb);
  EXPECT_EQ(bomb.args, (Args{{"part", "xl/worksheets/sheet1.xml"}}));
  EXPECT_EQ(bomb.sheet, "Stok");

  // libxml2's own words are a value, passed on as they are.
  const ReportProblem xml = one("damaged_xml.xlsx");
  EXPECT_EQ(xml.code, ProblemCode::kWorkbookXmlDamaged);
  EXPECT_EQ(xml.args, (Args{{"detail", "Opening and ending tag mismatch: c line 1 and sheetData"},
                            {"line", "1"}}));

  const ReportProblem error = one("formula_error.xlsx");
  EXPECT_EQ(error.code, ProblemCode::kCellError);
  EXPECT_EQ(error.args, (Args{{"error", "#DIV/0!"}}));
  EXPECT_EQ(error.cell, "C2");

  const ReportProblem text = one("bad_string_index.xlsx");
  EXPECT_EQ(text.code, ProblemCode::kWorkbookDamagedText);
  EXPECT_EQ(text.cell, "A1");
}

// A part's name that reads like another problem's text ("the workbook has
// no sheet") keeps its own code: the sheet's part, named "sheet" by the
// workbook's relationships, is missing.
TEST(WorkbookProblemLanguage, PartNamedLikeAnotherProblemKeepsItsCode) {
  const std::vector<ReportProblem> all = stored_problems("missing_part_sheet.xlsx");
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].code, ProblemCode::kWorkbookMissingPart);
  EXPECT_EQ(all[0].args, (WorkbookProblem::Args{{"part", "sheet"}}));
  EXPECT_EQ(problems_in("en", "missing_part_sheet.xlsx"),
            "sheet \"Stok\": the workbook has no sheet");
  EXPECT_EQ(problems_in("id", "missing_part_sheet.xlsx"),
            "lembar \"Stok\": buku kerja tidak memuat sheet");
}

// A workbook named .csv is found from its first bytes, before any reading,
// and is raised with its code too.
TEST(WorkbookProblemLanguage, WorkbookNamedCsvIsRaisedWithItsCode) {
  const auto zip = csv_content_problem(std::string_view("PK\x03\x04\x14\0\0\0", 8));
  ASSERT_TRUE(zip.has_value());
  EXPECT_EQ(zip->code, ProblemCode::kCsvIsWorkbook);
  EXPECT_EQ(zip->to_string(),
            "the file is a workbook (or another zip archive), not CSV; if it is a workbook, name "
            "it .xlsx (Excel) or .ods (LibreOffice), or save it as CSV");
  const auto xls = csv_content_problem(fixture_bytes("old.xls"));
  ASSERT_TRUE(xls.has_value());
  EXPECT_EQ(xls->code, ProblemCode::kCsvIsXls);
  EXPECT_EQ(xls->render(catalog_for("id")),
            "berkas ini buku kerja Excel versi lama (.xls), bukan CSV; simpan sebagai .xlsx atau CSV");
  EXPECT_FALSE(csv_content_problem("store,item,count\n").has_value());
}

TEST(WorkbookReader, ReadFromMemoryMatchesTheFile) {
  std::ifstream in(fixtures() / "strings.xlsx", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ReportParser parser;
  WorkbookReport report(parser, HeaderAliases{});
  Rows rows;
  report.read(bytes, "", [&](const ReportRow& r) { rows.push_back(std::string(r.item)); });
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(rows, (Rows{"beras", "gula"}));
}

TEST(WorkbookReader, CellReferences) {
  EXPECT_EQ(cell_ref(0, 1), "A1");
  EXPECT_EQ(cell_ref(2, 7), "C7");
  EXPECT_EQ(cell_ref(25, 3), "Z3");
  EXPECT_EQ(cell_ref(26, 3), "AA3");
  EXPECT_EQ(cell_ref(16383, 1048576), "XFD1048576");
  EXPECT_EQ((WorkbookProblem{"Stok", "C7", "x"}.to_string()), "sheet \"Stok\", cell C7: x");
  EXPECT_EQ((WorkbookProblem{"Stok", "", "x"}.to_string()), "sheet \"Stok\": x");
  EXPECT_EQ((WorkbookProblem{"", "", "x"}.to_string()), "x");
}

}  // namespace
}  // namespace stockwatch::workbook
