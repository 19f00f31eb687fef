// Reads one sheet of a workbook (.xlsx or .ods) as a stream of rows.
//
// Contract:
// - The sheet: a sheet whose name matches the report's store (`store`,
//   compared without case and surrounding spaces) when there is one,
//   otherwise the first sheet of the workbook. (An .ods file keeps every
//   sheet in one part, content.xml; it is then read twice, once for the
//   sheets' names, once for the rows.)
// - The sheet's XML is inflated from the archive in chunks of
//   `limits.chunk_bytes` and pushed into libxml2; a thread of the read's
//   own inflates up to four chunks ahead of the parse and ends before the
//   read returns. Memory does not grow with the sheet (only the
//   shared-string table is kept, and it is capped).
// - Rows reach the sink in sheet order, each with its 1-based row number
//   and only its non-empty cells (0-based column, text, kind). Empty rows
//   and empty cells are skipped. Whole numbers are given as integers
//   ("12.0" -> "12"); other numbers keep their digits and `whole` is false;
//   dates come with kind kDate. Deciding whether a cell is acceptable where
//   it stands (a date in the count column) is the caller's.
// - Merged ranges reach the sink's on_merge (for .xlsx after the rows,
//   where the file keeps them).
// - The first problem stops the read and is returned, as a code with its
//   values (workbook_problem.hpp); it names the sheet and the cell where
//   there is one. Rows delivered before it must be discarded by the caller.
// - The sink is called on the calling thread. Not thread-safe; each read
//   is independent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "report/workbook/workbook_problem.hpp"

namespace stockwatch::workbook {

struct WorkbookLimits {
  std::uint64_t max_inflated_bytes = 512ULL * 1024 * 1024;  // per archive entry
  std::uint64_t max_ratio = 200;                // inflated / compressed
  std::size_t max_shared_strings = 1'000'000;   // entries of the shared-string table
  std::uint64_t max_shared_string_bytes = 64ULL * 1024 * 1024;
  std::size_t max_cell_bytes = 32 * 1024;       // text of one cell
  std::size_t max_depth = 64;                   // XML nesting
  std::uint32_t max_repeat = 1000;              // .ods: copies made of a repeated non-empty row or cell
  std::size_t chunk_bytes = 64 * 1024;          // inflated bytes per step
};

enum class CellKind : std::uint8_t { kText, kNumber, kDate, kBool };

struct Cell {
  std::uint32_t column = 0;  // 0-based: A is 0
  CellKind kind = CellKind::kText;
  bool whole = true;         // kNumber: an integer value
  std::string text;
};

struct SheetRow {
  std::uint32_t number = 0;  // 1-based
  std::vector<Cell> cells;   // non-empty cells, in column order
};

struct MergeRange {
  std::uint32_t first_row = 0, first_column = 0, last_row = 0, last_column = 0;
};

class SheetSink {
 public:
  virtual ~SheetSink() = default;
  // Called once the sheet is chosen, before any row.
  virtual void on_sheet(const std::string& /*name*/) {}
  // Return a problem to stop the read with it.
  virtual std::optional<WorkbookProblem> on_row(const SheetRow& row) = 0;
  virtual std::optional<WorkbookProblem> on_merge(const MergeRange& /*range*/) { return {}; }
};

// "C7" for column 2, row 7; "C" when row is 0.
std::string cell_ref(std::uint32_t column, std::uint32_t row);

// Reads the workbook in `bytes` (the whole file), in the open file `fd`
// (borrowed, read from its start; its file position is moved), or at
// `path`.
[[nodiscard]] std::optional<WorkbookProblem> read_workbook(std::string_view bytes,
                                                           std::string_view store,
                                                           const WorkbookLimits& limits,
                                                           SheetSink& sink);
[[nodiscard]] std::optional<WorkbookProblem> read_workbook_fd(int fd, std::string_view store,
                                                              const WorkbookLimits& limits,
                                                              SheetSink& sink);
[[nodiscard]] std::optional<WorkbookProblem> read_workbook_file(const std::string& path,
                                                                std::string_view store,
                                                                const WorkbookLimits& limits,
                                                                SheetSink& sink);

}  // namespace stockwatch::workbook
