// The levels file: which files are one, and reading one into level lines
// (pipeline/minimum_levels.hpp) or line-numbered problems.
//
// Contract:
// - A file is a levels file when its name (the last part of its path in the
//   inbox, the S3 key or the uploaded name) starts with "levels" or
//   "minimum", in any case: "levels.csv", "Levels-2026-12.xlsx",
//   "minimum-stok.csv". It may be CSV or a workbook, like a report, and is
//   read by the report parser with the header `store,item,minimum` (the
//   report's store and item names, and for the third column "minimum",
//   "min", "minimal", "stok minimum" or "batas minimum").
// - `*` as store or item means any. A line naming the same store and item
//   as an earlier one, and every problem the report parser finds, reject
//   the file whole; its problems name the column "minimum".
// - Not thread-safe: one LevelsReader per file.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pipeline/minimum_levels.hpp"
#include "report/report_parser.hpp"

namespace stockwatch {

// Whether `name` (a path or a key) names a levels file.
[[nodiscard]] bool is_levels_name(std::string_view name);

// The header names a levels file accepts: the report's store and item
// names, and the minimum's.
[[nodiscard]] HeaderAliases levels_aliases(const HeaderAliases& report);

class LevelsReader {
 public:
  LevelsReader(ParserLimits limits, const HeaderAliases& report_aliases);
  // The sink refers to this object: it stays where it was made.
  LevelsReader(const LevelsReader&) = delete;
  LevelsReader& operator=(const LevelsReader&) = delete;

  // The parser to feed (CSV: feed()/finish() with sink(); a workbook: give
  // it to the workbook reader with sink()).
  [[nodiscard]] ReportParser& parser() { return parser_; }
  [[nodiscard]] const ReportParser::RowSink& sink() const { return sink_; }

  // After the whole file: the lines, in file order.
  [[nodiscard]] bool ok() const { return parser_.ok(); }
  [[nodiscard]] const std::vector<LevelLine>& lines() const { return lines_; }
  // The problems (column "minimum" for the third), stored form and text.
  [[nodiscard]] std::string problems_json() const;
  [[nodiscard]] std::string problems_text() const;
  // The parser's problems with the third column named "minimum".
  [[nodiscard]] std::vector<ReportProblem> problems() const;

 private:
  ReportParser parser_;
  std::vector<LevelLine> lines_;
  std::map<std::pair<std::string, std::string>, std::size_t> first_line_;
  ReportParser::RowSink sink_;
};

}  // namespace stockwatch
