// A workbook's reading problem (WorkbookProblem) as a report problem with
// a code and arguments, so that it is rendered in the reader's language at
// the edge like every problem of a CSV report (report/report_problem.hpp).
//
// Contract:
// - The reader (zip_archive, xml_stream, workbook_reader) words its
//   problems in English, as the English catalog's "problem.<code>" texts
//   with their arguments filled in. coded_problem() finds the code whose
//   English text the message is and takes the arguments back out of it, so
//   the English rendering is byte for byte the reader's message.
// - Arguments that hold a library's own words (libzip's and libxml2's
//   error texts, the C library's strerror) stay as they are in every
//   language: they come from those libraries.
// - A message that is no known text stays a ready text (ProblemCode::kText).
// - The problem keeps the sheet and the cell; its line is 0 (the report as
//   a whole), rendered `sheet "Stok", cell C7: ...`.
// - Pure functions: safe from any thread.
#pragma once

#include <string_view>

#include "report/report_problem.hpp"
#include "report/workbook/workbook_reader.hpp"

namespace stockwatch::workbook {

[[nodiscard]] ReportProblem coded_problem(const WorkbookProblem& problem);

// The code and arguments of one English message; kText when none fits.
[[nodiscard]] ReportProblem coded_message(std::string_view message);

}  // namespace stockwatch::workbook
