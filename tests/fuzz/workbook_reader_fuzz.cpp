// libFuzzer target for the workbook reader (.xlsx and .ods).
//
// The input is a whole file. It is read with small limits (so every cap is
// reachable) as a bare sheet and as a report through the CSV parser; every
// delivered row and every problem must satisfy the reader's contract, and
// nothing may crash, hang or grow without bound.
//
// Build and run: `make fuzz-workbook` (FUZZ_SECONDS=...); the seed corpus is
// tests/fuzz/workbook_corpus, replayed by `make test`. The seeds were made by
// tests/support/make_workbooks.py (openpyxl, LibreOffice, hand-made hostile
// files).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "report/report_parser.hpp"
#include "report/workbook/workbook_reader.hpp"
#include "report/workbook/workbook_report.hpp"
#include "fuzz_check.hpp"

namespace {

using namespace stockwatch;
using namespace stockwatch::workbook;


class CheckingSink : public SheetSink {
 public:
  explicit CheckingSink(const WorkbookLimits& limits) : limits_(limits) {}
  void on_sheet(const std::string&) override {
    FUZZ_CHECK(!sheet_seen_);
    FUZZ_CHECK(rows_ == 0);
    sheet_seen_ = true;
  }
  std::optional<WorkbookProblem> on_row(const SheetRow& row) override {
    FUZZ_CHECK(sheet_seen_);
    FUZZ_CHECK(row.number > last_row_ && row.number <= 1'048'576);
    FUZZ_CHECK(!row.cells.empty());
    last_row_ = row.number;
    std::int64_t last_column = -1;
    for (const Cell& c : row.cells) {
      FUZZ_CHECK(static_cast<std::int64_t>(c.column) > last_column && c.column < 16'384);
      last_column = c.column;
      FUZZ_CHECK(!c.text.empty());
      FUZZ_CHECK(c.text.size() <= limits_.max_cell_bytes);
    }
    ++rows_;
    return std::nullopt;
  }
  std::optional<WorkbookProblem> on_merge(const MergeRange& m) override {
    FUZZ_CHECK(m.first_row <= 1'048'576 && m.last_column < 16'384);
    return std::nullopt;
  }

 private:
  const WorkbookLimits& limits_;
  bool sheet_seen_ = false;
  std::uint32_t last_row_ = 0;
  std::size_t rows_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view data(reinterpret_cast<const char*>(bytes), size);
  WorkbookLimits limits;
  limits.max_inflated_bytes = 4 * 1024 * 1024;
  limits.max_shared_strings = 64;
  limits.max_shared_string_bytes = 4096;
  limits.max_cell_bytes = 256;
  limits.max_depth = 32;
  limits.max_repeat = 16;
  limits.chunk_bytes = 1 + size % 997;

  CheckingSink sink(limits);
  const std::optional<WorkbookProblem> problem = read_workbook(data, "Medan", limits, sink);
  // Every problem of the reader has a code, with a text in each language.
  if (problem) {
    FUZZ_CHECK(problem->code != ProblemCode::kText);
    FUZZ_CHECK(!problem->to_string().empty());
    FUZZ_CHECK(!problem->render(catalog_for("id")).empty());
  }

  ReportParser parser;
  WorkbookReport report(parser, HeaderAliases{}, limits);
  std::size_t rows = 0;
  report.read(data, "", [&](const ReportRow& r) {
    FUZZ_CHECK(!r.store.empty() && !r.item.empty() && r.count >= 0);
    FUZZ_CHECK(r.line >= 1 && r.line <= 1'048'576);
    ++rows;
  });
  FUZZ_CHECK(report.ok() == report.problems_text().empty());
  FUZZ_CHECK(!report.ok() || rows > 0);
  return 0;
}
