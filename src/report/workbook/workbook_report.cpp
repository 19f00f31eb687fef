#include "report/workbook/workbook_report.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace stockwatch::workbook {

namespace {
constexpr std::size_t kMaxMergesReported = 10;
// Characters that make a cell a quoted CSV field (every delimiter the
// parser may detect, quotes and line breaks).
constexpr std::string_view kQuoted = ",;\t|\"\r\n";

// Whether `text` holds one of kQuoted (a table, not a search per byte).
bool needs_quotes(std::string_view text) {
  static constexpr auto kTable = [] {
    std::array<bool, 256> t{};
    for (const char c : kQuoted) t[static_cast<unsigned char>(c)] = true;
    return t;
  }();
  for (const char c : text) {
    if (kTable[static_cast<unsigned char>(c)]) return true;
  }
  return false;
}
constexpr const char* kRoles[3] = {"store", "item", "count"};
}  // namespace

// Turns sheet rows into CSV records for the parser.
class WorkbookReport::Feeder : public SheetSink {
 public:
  Feeder(WorkbookReport& owner, const ReportParser::RowSink& sink) : owner_(owner), sink_(sink) {}

  void on_sheet(const std::string& name) override { owner_.sheet_ = name; }

  std::optional<WorkbookProblem> on_row(const SheetRow& row) override {
    if (owner_.stop_ && owner_.stop_()) {
      owner_.stopped_ = true;
      return WorkbookProblem{"", "", "stopped"};  // ends the read; never shown
    }
    // Blank lines up to the row, so that the parser's line is the row
    // number (plus the extra lines of earlier texts with line breaks).
    std::string& out = buf_;
    out.assign(row.number - 1 - last_row_, '\n');
    line_ += row.number - 1 - last_row_;
    last_row_ = row.number;
    if (!header_seen_) {
      header_seen_ = true;
      header_row_ = row.number;
      for (const Cell& c : row.cells) {
        const int r = header_role(c.text, owner_.aliases_);
        if (r >= 0 && owner_.role_column_[r] < 0) owner_.role_column_[r] = c.column;
      }
    }
    std::uint32_t column = 0;
    std::size_t breaks = 0;
    for (const Cell& c : row.cells) {
      while (column < c.column) {
        out += ',';
        ++column;
      }
      if (row.number != header_row_ && owner_.role_column_[2] == c.column &&
          c.kind == CellKind::kDate) {
        owner_.parser_.add_problem(ReportProblem{
            line_ + 1, "count",
            "the count is a date (" + c.text +
                "); format the count column as a number, not a date"});
      }
      // A date's problem is told once: the parser gets a count it accepts
      // (the report is refused all the same).
      const bool date = c.kind == CellKind::kDate && owner_.role_column_[2] == c.column &&
                        row.number != header_row_;
      const std::string_view text = date ? std::string_view("0") : std::string_view(c.text);
      if (!needs_quotes(text)) {
        out += text;  // the parser's fast path
        continue;
      }
      out += '"';
      for (const char ch : text) {
        if (ch == '"') out += '"';
        if (ch == '\n' || ch == '\r') ++breaks;
        out += ch;
      }
      out += '"';
    }
    // A sheet keeps no trailing empty cells: a row whose count (or any
    // column the parser reads) was left empty is padded to the columns the
    // header needs, so the parser says "the count is empty" in cell D7, not
    // that the row is short.
    if (row.number != header_row_ && !row.cells.empty()) {
      const std::int64_t needed =
          1 + std::max({owner_.role_column_[0], owner_.role_column_[1], owner_.role_column_[2]});
      while (static_cast<std::int64_t>(column) + 1 < needed) {
        out += ',';
        ++column;
      }
    }
    out += '\n';
    owner_.parser_.feed(out, wrapped_);
    line_ += 1 + breaks;
    if (breaks != 0) {
      // A text with line breaks took more than one line: the parser's lines
      // run ahead of the rows from here on.
      const std::size_t extra = owner_.shifts_.empty() ? 0 : owner_.shifts_.back().extra;
      owner_.shifts_.push_back({row.number + 1, line_ + 1, extra + breaks});
    }
    return std::nullopt;
  }

  std::optional<WorkbookProblem> on_merge(const MergeRange& m) override {
    if (merges_++ < kMaxMergesReported) {
      const std::size_t line = owner_.line_of(m.first_row);
      owner_.merge_cells_.emplace_back(line, cell_ref(m.first_column, m.first_row));
      owner_.parser_.add_problem(ReportProblem{
          line, "",
          "the cells " + cell_ref(m.first_column, m.first_row) + ":" +
              cell_ref(m.last_column, m.last_row) +
              " are merged; unmerge them and write the value in each cell"});
    }
    return std::nullopt;
  }

  ReportParser::RowSink wrapped_ = [this](const ReportRow& r) {
    ReportRow copy = r;
    copy.line = owner_.row_of(r.line);
    sink_(copy);
  };

 private:
  WorkbookReport& owner_;
  const ReportParser::RowSink& sink_;
  std::string buf_;
  std::uint32_t last_row_ = 0;  // sheet rows fed
  std::size_t line_ = 0;        // parser lines fed
  bool header_seen_ = false;
  std::uint32_t header_row_ = 0;
  std::size_t merges_ = 0;
};

WorkbookReport::WorkbookReport(ReportParser& parser, HeaderAliases aliases, WorkbookLimits limits)
    : parser_(parser), aliases_(std::move(aliases)), limits_(limits) {}

void WorkbookReport::read(std::string_view bytes, std::string_view store,
                          const ReportParser::RowSink& sink) {
  Feeder feeder(*this, sink);
  finish(read_workbook(bytes, store, limits_, feeder), feeder, sink);
}

void WorkbookReport::read_fd(int fd, std::string_view store, const ReportParser::RowSink& sink) {
  Feeder feeder(*this, sink);
  finish(read_workbook_fd(fd, store, limits_, feeder), feeder, sink);
}

void WorkbookReport::read_file(const std::string& path, std::string_view store,
                               const ReportParser::RowSink& sink) {
  Feeder feeder(*this, sink);
  finish(read_workbook_file(path, store, limits_, feeder), feeder, sink);
}

void WorkbookReport::finish(std::optional<WorkbookProblem> problem, Feeder& feeder,
                            const ReportParser::RowSink&) {
  if (stopped_) return;
  if (problem) {
    // Stored whole, already naming its sheet and cell.
    parser_.add_problem(ReportProblem{0, "", problem->to_string()});
    return;
  }
  parser_.finish(feeder.wrapped_);
}

std::size_t WorkbookReport::row_of(std::size_t line) const {
  std::size_t extra = 0;
  for (const Shift& s : shifts_) {
    if (line >= s.line) extra = s.extra;
  }
  return line - extra;
}

std::size_t WorkbookReport::line_of(std::size_t row) const {
  std::size_t extra = 0;
  for (const Shift& s : shifts_) {
    if (row >= s.row) extra = s.extra;
  }
  return row + extra;
}

std::string WorkbookReport::render(const ReportProblem& problem) const {
  if (problem.line == 0 || sheet_.empty()) return problem.to_string();
  ReportProblem p = problem;
  p.line = row_of(p.line);
  std::string out = "sheet \"" + sheet_ + "\", ";
  for (int r = 0; r < 3; ++r) {
    if (p.column == kRoles[r] && role_column_[r] >= 0) {
      return out + "cell " +
             cell_ref(static_cast<std::uint32_t>(role_column_[r]), static_cast<std::uint32_t>(p.line)) +
             ": " + p.message;
    }
  }
  for (const auto& [line, cell] : merge_cells_) {
    if (line == problem.line && p.column.empty() && p.message.starts_with("the cells "))
      return out + "cell " + cell + ": " + p.message;
  }
  return out + "row " + std::to_string(p.line) + ": " + p.message;
}

std::string WorkbookReport::problems_text() const {
  return parser_.problems_text([this](const ReportProblem& p) { return render(p); });
}

}  // namespace stockwatch::workbook
