// Which files are reports, and in which format, by their names.
//
// Contract:
// - A report's name ends in ".csv" (a CSV file), ".xlsx" or ".ods" (a
//   workbook), in any case. Every place that decides whether a file is a
//   report (the inbox, the S3 upload, the loader) asks here.
// - What the bytes are is checked when the file is read: a workbook named
//   .csv and a CSV file named .xlsx are both refused with a clear problem
//   (csv_content_problem(), and the workbook reader's own check).
// - Pure functions: safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "report/report_problem.hpp"

namespace stockwatch {

enum class ReportFormat : unsigned char { kCsv, kWorkbook };

// The format a name says, or nullopt when the name is not a report's.
[[nodiscard]] std::optional<ReportFormat> report_format(std::string_view name);

// How a report is read, from its name (its path in the inbox, or a key of
// the S3 bucket): its format (CSV for a name that is no report's, as given
// to `ingest`), and for a workbook the store whose sheet is read: the first
// folder of the name, when it has one (one folder per warehouse:
// "medan/2026-11.xlsx" reads a sheet named "Medan" when there is one, the
// first sheet otherwise).
struct ReportKind {
  ReportFormat format = ReportFormat::kCsv;
  std::string store;  // "" for the first sheet
};
[[nodiscard]] ReportKind report_kind(std::string_view name);

// The names a report may end in, for messages: ".csv, .xlsx or .ods".
[[nodiscard]] std::string_view report_extensions();

// Why a file named .csv cannot be read as CSV, from its first bytes (at
// least 8): it is a workbook (a zip archive or an OLE compound file), as a
// problem of the whole report with its code (kCsvIsWorkbook, kCsvIsXls).
// nullopt when nothing is wrong with its start.
[[nodiscard]] std::optional<ReportProblem> csv_content_problem(std::string_view head);

}  // namespace stockwatch
