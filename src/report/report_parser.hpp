// Streaming parser for stock reports (CSV of store, item, count, and an
// optional date column).
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
// - A `date` column (alias `tanggal`) is optional: each row's date must be
//   a date (2026-11-30, 30/11/2026, 2026-11 for the month's last day) and
//   the same as the first row's (one date per report), else a problem at
//   its line; report_day() gives it.
// - Not thread-safe; one parser per report.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "report/report_problem.hpp"

namespace stockwatch {

struct ReportRow {
  std::string_view store;
  std::string_view item;
  std::int64_t count = 0;
  std::size_t line = 0;   // physical line (1-based) where the row starts
  std::optional<std::int64_t> day;  // the report's `date` column, when it has one
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
  // Optional: the date the counts were taken (one date per report).
  std::vector<std::string> date = {"date", "tanggal"};
};

// The column a header name stands for: 0 store, 1 item, 2 count, 3 date, -1 none
// (compared as the parser compares them: trimmed, without case).
int header_role(std::string_view name, const HeaderAliases& aliases);

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
  // The report's date from its `date` column (days since 1970-01-01):
  // every row's, which must all be the same; nullopt without the column.
  [[nodiscard]] std::optional<std::int64_t> report_day() const { return report_day_; }
  // The delimiter detected from the header, or '\0' before the header.
  [[nodiscard]] char delimiter() const { return delimiter_; }

  // The problems as English text, one per line, in line order, with a
  // closing "... and N more problems" line when the cap was reached.
  [[nodiscard]] std::string problems_text() const;
  // The same, each problem written by `render` (a workbook names cells).
  [[nodiscard]] std::string problems_text(
      const std::function<std::string(const ReportProblem&)>& render) const;
  // The problems in their stored form (report/report_problem.hpp).
  [[nodiscard]] std::string problems_json() const;

 private:
  enum class FieldState : std::uint8_t { kStart, kUnquoted, kQuoted, kQuoteInQuoted, kAfterQuote };

  void scan(std::string_view data, const RowSink& sink);
  void process_line(std::string_view line, const RowSink& sink);
  void process_fast_row(std::string_view line, const RowSink& sink);
  void parse_quoted_line(std::string_view line, const RowSink& sink);
  void start_record();
  void start_field();
  void end_field();
  void append(char c);
  void process_record(const RowSink& sink);
  void process_header();
  void check_row(std::string_view store, std::size_t store_len, std::string_view item,
                 std::size_t item_len, std::string_view count, std::string_view date,
                 std::size_t columns, const RowSink& sink, bool extra = false);
  bool check_date(std::string_view date);
  bool check_name(std::string_view value, std::size_t full_len, const char* role);
  void report(std::size_t line, const char* column, ProblemCode code,
              std::vector<std::pair<std::string, std::string>> args = {});
  [[nodiscard]] bool is_blank(std::string_view line) const;

  ParserLimits limits_;
  HeaderAliases aliases_;
  std::vector<ReportProblem> problems_;
  std::size_t problem_count_ = 0;
  std::size_t rows_ = 0;
  char delimiter_ = '\0';

  // Input framing.
  std::string pending_;              // bytes of an incomplete physical line
  char bom_head_[3] = {};            // leading bytes that may be a BOM
  std::size_t bom_len_ = 0;
  bool bom_checked_ = false;
  bool saw_cr_ = false;              // the last byte seen was a CR
  bool stopped_ = false;             // a fatal problem: ignore the rest
  bool finished_ = false;
  std::size_t line_no_ = 0;          // physical lines consumed

  // The record being parsed (a record spans lines only inside quotes).
  bool in_record_ = false;
  FieldState state_ = FieldState::kStart;
  std::size_t record_line_ = 0;      // line where the current record starts
  std::size_t quote_line_ = 0;       // line where the open quoted field starts
  bool record_bad_utf8_ = false;
  std::size_t field_index_ = 0;
  int field_slot_ = -1;              // kept in: 0..3 role_value_, 4 header_fields_.back(), -1 not kept
  std::size_t field_len_ = 0;        // bytes in the current field, kept or not
  bool field_quoted_ = false;
  bool field_has_break_ = false;
  std::string role_value_[4];        // store, item, count, date of the current record
  std::size_t role_len_[4] = {};
  std::vector<std::string> header_fields_;

  // The header.
  bool header_done_ = false;
  std::vector<signed char> column_role_;  // column index -> role (0..3) or -1
  bool has_date_ = false;                 // the header has a date column
  std::optional<std::int64_t> report_day_;  // the first row's date
  std::size_t report_day_line_ = 0;         // and its line
  std::size_t needed_cols_ = 0;
  std::size_t header_cols_ = 0;      // columns in the header line
  bool field_nonspace_ = false;      // the current field holds more than space
  bool extra_values_ = false;        // the current record has values past header_cols_
  std::size_t data_records_ = 0;     // non-blank records after the header
};

}  // namespace stockwatch
