// Whether every row of a report is for a store its sender may report for:
// the check an S3 key limited to some stores and a manager's console
// upload make before the report is placed in the inbox.
//
// Contract:
// - The report is read as the loader will read it: its name picks the
//   reader (CSV, or the workbook's sheet by report_kind()), with the same
//   header aliases and limits (a levels file, pipeline/levels_file.hpp,
//   with its own header; its store `*` is foreign unless `allowed` says
//   otherwise). Reading stops at the first foreign row.
// - A report the loader would reject (no header, a bad cell) has no
//   foreign row here: the loader rejects it with its problems.
// - The descriptor is read with pread() from its start; its position is
//   left alone. Failures to read are Error values.
// - Blocking file reads: call it off the event loop (the HTTP thread reads
//   uploads this way already).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "config/config.hpp"

namespace stockwatch {

struct ForeignRow {
  std::string store;
  std::size_t line = 0;   // CSV: the line; workbook: the sheet's row
  bool in_workbook = false;
};

using StoreAllowed = std::function<bool(std::string_view store)>;

[[nodiscard]] Result<std::optional<ForeignRow>> first_foreign_row(int fd, std::string_view name,
                                                                  const ReportConfig& report,
                                                                  const StoreAllowed& allowed);

// The same for a report held in memory (a console upload).
[[nodiscard]] Result<std::optional<ForeignRow>> first_foreign_row(std::string_view data,
                                                                  std::string_view name,
                                                                  const ReportConfig& report,
                                                                  const StoreAllowed& allowed);

}  // namespace stockwatch
