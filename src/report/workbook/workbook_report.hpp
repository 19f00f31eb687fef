// A workbook's sheet read as a stock report: the sheet's cells go through
// the same ReportParser as a CSV file, so the header aliases, the count
// rules and the problems' wording are the same.
//
// Contract:
// - Each sheet row becomes one CSV record fed to the parser (cells quoted),
//   so the parser's line numbers are the sheet's row numbers; rows reach
//   `sink` with `line` set to the sheet row.
// - A data row is padded with empty cells up to the last column the header
//   names (a sheet does not keep trailing empty cells), so an empty count
//   cell is "the count is empty" at its cell, never a short row. Columns
//   the header does not name are passed on and ignored by the parser.
// - Rules only a workbook has are checked here and added to the parser's
//   problems: a date in the count column, merged cells.
// - problems_text() writes every problem with the sheet and the cell:
//   `sheet "Stok", cell C7: ...` (`row 7` when no column is known).
// - A reading problem (a damaged or hostile file) is added to the parser as
//   a problem of the whole report, with the code and values the reader
//   raised it with (workbook_problem.hpp), so it is shown in the reader's
//   language; ok() is then false.
// - Threads: the archive is inflated and its XML parsed on a thread that
//   each read starts and joins before it returns; the parser, `sink` and
//   the stop callback are called only on the caller's thread. At most a few
//   batches of 64 KiB of records are in flight between the two.
// - Borrows the parser; not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "report/report_parser.hpp"
#include "report/workbook/workbook_reader.hpp"

namespace stockwatch::workbook {

class WorkbookReport {
 public:
  WorkbookReport(ReportParser& parser, HeaderAliases aliases, WorkbookLimits limits = {});

  // Reads the workbook (the whole file in `bytes`, the open file `fd`,
  // borrowed and read from its start, or the file at `path`) for the report
  // of `store` ("" when unknown), feeding the parser, and finishes the
  // parser.
  void read(std::string_view bytes, std::string_view store, const ReportParser::RowSink& sink);
  void read_fd(int fd, std::string_view store, const ReportParser::RowSink& sink);
  void read_file(const std::string& path, std::string_view store,
                 const ReportParser::RowSink& sink);

  // Asked before each row: true ends the read there (a cancelled load, a
  // sink that failed). The parser is then left unfinished, no problem is
  // added, and stopped() is true.
  void set_stop(std::function<bool()> stop) { stop_ = std::move(stop); }
  [[nodiscard]] bool stopped() const { return stopped_; }

  [[nodiscard]] bool ok() const { return parser_.ok(); }
  [[nodiscard]] const std::string& sheet() const { return sheet_; }
  // One `sheet "S", cell C7: message` line per problem, in row order.
  [[nodiscard]] std::string problems_text() const;
  // One problem as problems_text() writes it.
  [[nodiscard]] std::string render(const ReportProblem& problem) const;
  // The problems in their stored form (report/report_problem.hpp), each
  // with its sheet, row and cell, so they render in any language.
  [[nodiscard]] std::string problems_json() const;
  // A parser problem with its sheet, row and cell.
  [[nodiscard]] ReportProblem located(const ReportProblem& problem) const;

 private:
  class Feeder;
  class Channel;
  struct Side;
  struct Batch;
  void run(const std::function<std::optional<WorkbookProblem>(SheetSink&)>& reader,
           const ReportParser::RowSink& sink);

  // Sheet row <-> parser line, after texts with line breaks.
  struct Shift {
    std::size_t row;    // from this sheet row on
    std::size_t line;   // from this parser line on
    std::size_t extra;  // the parser is this many lines ahead
  };
  [[nodiscard]] std::size_t row_of(std::size_t line) const;
  [[nodiscard]] std::size_t line_of(std::size_t row) const;

  ReportParser& parser_;
  std::function<bool()> stop_;
  bool stopped_ = false;
  std::vector<Shift> shifts_;
  std::vector<std::pair<std::size_t, std::string>> merge_cells_;  // parser line -> merged cell
  HeaderAliases aliases_;
  WorkbookLimits limits_;
  std::string sheet_;
  std::int64_t role_column_[4] = {-1, -1, -1, -1};  // store, item, count, date -> sheet column
};

}  // namespace stockwatch::workbook
