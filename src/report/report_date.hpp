// The date a report's counts were true, from its file or folder name.
//
// Contract:
// - report_day_from_name() looks for a date in the report's path relative
//   to the inbox ("medan/2026-11.csv", "stok-2026-11-30.xlsx",
//   "2026/11/medan.csv", "2026/11/30/medan.csv"): a full date (YYYY-MM-DD,
//   YYYY_MM_DD, YYYYMMDD, or folders YYYY/MM/DD) is that day; a month
//   (YYYY-MM, YYYY_MM, or folders YYYY/MM) is its last day. The last date in
//   the path wins (the file's own name before its folders). Years 2000-2099
//   only, so that numbers such as item codes are not taken for dates.
// - The loader uses it when the report has no `date` column; with neither,
//   the day it was received. ReportDateSource says which, for the ledger.
// - Pure functions: safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace stockwatch {

enum class ReportDateSource { kReceived, kName, kColumn };
// "received", "name", "column".
[[nodiscard]] const char* to_string(ReportDateSource s);
[[nodiscard]] ReportDateSource report_date_source_from(std::string_view name);

// The day (days since 1970-01-01) a report's path names, or nullopt.
[[nodiscard]] std::optional<std::int64_t> report_day_from_name(std::string_view path);

// A date cell ("2026-11-30", "2026-11", "30/11/2026"): its day, or nullopt.
[[nodiscard]] std::optional<std::int64_t> parse_report_day(std::string_view text);

}  // namespace stockwatch
