// Streaming parser for stock reports (CSV of store, item, count).
//
// Contract:
// - Push-based: call feed() with chunks of any size (a chunk may end in the
//   middle of a line, a quoted field or a UTF-8 sequence), then finish().
//   Memory stays bounded by the longest line, never by the report's size.
// - Each valid row is handed to the sink as soon as it is complete. The
//   string_views in ReportRow are valid only during the sink call.
// - Problems are collected, never thrown: after finish(), `ok()` tells
//   whether the report is acceptable. A report with any problem must load
//   nothing; the caller rolls back what the sink did.
// - Rows handed to the sink after the first problem may still be delivered
//   (so every problem of a report is found in one pass); callers must not
//   commit once ok() is false.
// - Not thread-safe; one parser per report.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace stockwatch {

struct ReportRow {
  std::string_view store;
  std::string_view item;
  std::int64_t count = 0;
  std::size_t line = 0;   // physical line (1-based) where the row starts
};

struct ReportProblem {
  std::size_t line = 0;   // 0 = the report as a whole
  std::string column;     // "store", "item", "count" or empty
  std::string message;    // what is wrong and how to fix it
  // "line 7, column count: '1.000' is not a whole number; write 1000"
  // "line 3: ..." when there is no column, and just the message for line 0.
  [[nodiscard]] std::string to_string() const;
};

struct ParserLimits {
  std::int64_t max_count = 1'000'000'000;   // largest accepted count
  std::size_t max_name_bytes = 200;         // longest store or item, in bytes
  std::size_t max_line_bytes = 64 * 1024;   // longest physical line
  std::size_t max_problems = 100;           // problems kept; the rest are counted
};

struct HeaderAliases {
  std::vector<std::string> store = {"store", "gudang", "toko", "warehouse"};
  std::vector<std::string> item = {"item", "barang", "produk", "product"};
  std::vector<std::string> count = {"count", "jumlah", "stok", "stock", "qty", "quantity"};
};

class ReportParser {
 public:
  using RowSink = std::function<void(const ReportRow&)>;

  explicit ReportParser(ParserLimits limits = {}, HeaderAliases aliases = {});

  // Parses as much of `chunk` as forms complete lines; keeps the rest.
  void feed(std::string_view chunk, const RowSink& sink);
  // Parses what is left and runs the end-of-report checks (empty file,
  // header without rows, unterminated quote).
  void finish(const RowSink& sink);

  // Adds a problem found outside the parser (e.g. a duplicate row found by
  // storage, a file too large), counted against the same cap.
  void add_problem(ReportProblem problem);

  [[nodiscard]] bool ok() const { return problem_count_ == 0; }
  [[nodiscard]] const std::vector<ReportProblem>& problems() const { return problems_; }
  [[nodiscard]] std::size_t problem_count() const { return problem_count_; }
  [[nodiscard]] std::size_t rows() const { return rows_; }
  // The delimiter detected from the header, or '\0' before the header.
  [[nodiscard]] char delimiter() const { return delimiter_; }

  // The problems as text, one per line, in line order, with a closing
  // "... and N more problems" line when the cap was reached.
  [[nodiscard]] std::string problems_text() const;

 private:
  void process_line(std::string_view line, const RowSink& sink);
  void process_record(std::size_t line, const RowSink& sink);

  ParserLimits limits_;
  HeaderAliases aliases_;
  std::vector<ReportProblem> problems_;
  std::size_t problem_count_ = 0;
  std::size_t rows_ = 0;
  char delimiter_ = '\0';

  // Parser state.
  std::string pending_;              // bytes of an incomplete line
  std::vector<std::string> fields_;  // fields of the current record
  std::vector<bool> quoted_;         // whether each field was quoted
  std::size_t record_line_ = 0;      // line where the current record starts
  std::size_t line_no_ = 0;          // physical lines consumed
  bool in_quotes_ = false;
  bool header_done_ = false;
  bool bom_checked_ = false;
  bool saw_cr_ = false;              // last byte seen was a CR
  std::uint64_t bytes_ = 0;
  int store_col_ = -1, item_col_ = -1, count_col_ = -1;
  std::size_t needed_cols_ = 0;
};

}  // namespace stockwatch
