// What stops the reading of a workbook (WorkbookProblem): a report problem
// of the report as a whole, with its code and values, raised where it is
// found (the archive, the XML parser, the sheet's reader) and rendered to
// text only at the edge, in the reader's language, like every problem of a
// CSV report (report/report_problem.hpp).
//
// Contract:
// - A WorkbookProblem is a ReportProblem of line 0: its code's text is the
//   catalog's "problem.<code>" filled from `args`; it names the sheet (empty
//   before one is chosen) and the cell ("C7", or empty).
// - Values that hold a library's own words (libzip's and libxml2's error
//   texts, the C library's strerror) are passed on as they are and stay so
//   in every language: they come from those libraries.
// - kText (a ready text) is only for a sink's own reason to stop a read;
//   every problem of the reader itself has a code.
// - to_string() (ReportProblem's) is the English text:
//   `sheet "Stok", cell C7: ...`, `sheet "Stok": ...`, or the text alone.
// - A plain value: safe to copy and to hand between threads.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "base/result.hpp"
#include "report/report_problem.hpp"

namespace stockwatch::workbook {

struct WorkbookProblem : ReportProblem {
  using Args = std::vector<std::pair<std::string, std::string>>;

  // A problem with its values, not yet placed in a sheet.
  explicit WorkbookProblem(ProblemCode problem, Args arguments = {})
      : ReportProblem(0, "", problem, std::move(arguments)) {}
  // A ready text (kText) at `in_sheet` and `in_cell`.
  WorkbookProblem(std::string in_sheet, std::string in_cell, std::string text)
      : ReportProblem(0, "", std::move(text)) {
    sheet = std::move(in_sheet);
    cell = std::move(in_cell);
  }

  // The same problem in sheet `in_sheet`, at `in_cell` ("" for the sheet as
  // a whole).
  [[nodiscard]] WorkbookProblem at(std::string in_sheet, std::string in_cell = {}) const {
    WorkbookProblem p = *this;
    p.sheet = std::move(in_sheet);
    p.cell = std::move(in_cell);
    return p;
  }
};

// A value of a workbook's part, or the problem that stopped its reading.
template <typename T>
using WorkbookResult = Result<T, WorkbookProblem>;

}  // namespace stockwatch::workbook
