// Archiving a handled report out of the inbox.
//
// Contract: never overwrites. The report keeps its path relative to the
// inbox under the archive folder; when that name is taken, a numbered
// suffix is added (`2026-11.csv` -> `2026-11.1.csv`). A rejected report gets
// a `<archived name>.error.txt` beside it. With mode "delete" the report is
// removed instead (its error text is still written to the failed folder).
// Blocking file I/O; safe from any one thread at a time per file.
#pragma once

#include <filesystem>
#include <string>

#include "base/result.hpp"

namespace stockwatch {

struct ArchiveOptions {
  std::filesystem::path processed;
  std::filesystem::path failed;
  bool delete_reports = false;   // inbox.archive = "delete"
};

// Moves `file` to `<processed or failed>/<relative>`; returns where it went
// (empty when deleted). `error_text` non-empty = rejected: goes to failed/
// with an error file.
[[nodiscard]] Result<std::filesystem::path> archive_report(const ArchiveOptions& options,
                                                           const std::filesystem::path& file,
                                                           const std::filesystem::path& relative,
                                                           bool rejected,
                                                           const std::string& error_text);

}  // namespace stockwatch
