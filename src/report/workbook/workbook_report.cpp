#include "report/workbook/workbook_report.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
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
constexpr const char* kRoles[4] = {"store", "item", "count", "date"};

// A date cell's day as YYYY-MM-DD: Excel keeps a date as the days since
// 1899-12-30 (a fraction is the time of day); an OpenDocument date is
// ISO already (its time, after 'T', the parser ignores). "" when neither.
std::string date_cell_text(std::string_view text) {
  if (text.empty() || !(text[0] >= '0' && text[0] <= '9') || text.find('-') != std::string_view::npos) {
    return std::string();
  }
  double serial = 0;
  const std::string s(text);
  char* end = nullptr;
  serial = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || serial < 61 || serial > 2958465) return std::string();
  const auto days = static_cast<std::int64_t>(serial) - 25569;  // 1970-01-01 is 25569
  const std::chrono::year_month_day ymd{std::chrono::sys_days(std::chrono::days(days))};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}
}  // namespace

// What the reading thread hands to the parser's thread: rows as CSV
// records (row i is text[ends[i-1], ends[i])), and, between them, problems
// only a workbook has and line shifts, each applied before row `at_row`.
struct WorkbookReport::Side {
  std::size_t at_row = 0;
  std::optional<ReportProblem> problem;
  std::optional<Shift> shift;
};

struct WorkbookReport::Batch {
  std::string text;
  std::vector<std::size_t> ends;
  std::vector<Side> sides;
  bool last = false;
};

// A bounded queue of batches between the reading thread and the caller's.
class WorkbookReport::Channel {
 public:
  // False when the consumer has gone (the batch is dropped).
  bool push(Batch batch) {
    std::unique_lock lock(mutex_);
    room_.wait(lock, [&] { return queue_.size() < kDepth || cancelled_; });
    if (cancelled_) return false;
    queue_.push_back(std::move(batch));
    ready_.notify_one();
    return true;
  }
  Batch pop() {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return !queue_.empty(); });
    Batch b = std::move(queue_.front());
    queue_.pop_front();
    room_.notify_one();
    return b;
  }
  void cancel() {
    {
      const std::lock_guard lock(mutex_);
      cancelled_ = true;
      queue_.clear();
    }
    room_.notify_all();
  }
  [[nodiscard]] bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }

 private:
  static constexpr std::size_t kDepth = 4;  // batches in flight: memory stays bounded
  mutable std::mutex mutex_;
  std::condition_variable ready_, room_;
  std::deque<Batch> queue_;
  std::atomic<bool> cancelled_{false};
};

// Turns sheet rows into CSV records for the parser. Runs on the reading
// thread: it touches nothing the parser's thread uses until the read ends
// (sheet_, role_column_, merge_cells_); everything for the parser goes
// through the channel.
class WorkbookReport::Feeder : public SheetSink {
 public:
  Feeder(WorkbookReport& owner, Channel& channel) : owner_(owner), channel_(channel) {}

  void on_sheet(const std::string& name) override { owner_.sheet_ = name; }

  std::optional<WorkbookProblem> on_row(const SheetRow& row) override {
    if (channel_.cancelled()) return WorkbookProblem{"", "", "stopped"};  // never shown
    // Blank lines up to the row, so that the parser's line is the row
    // number (plus the extra lines of earlier texts with line breaks).
    std::string& out = batch_.text;
    out.append(row.number - 1 - last_row_, '\n');
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
        side().problem = ReportProblem{line_ + 1, "count", ProblemCode::kCountIsDate,
                                       {{"found", c.text}}};
      }
      // A date's problem is told once: the parser gets a count it accepts
      // (the report is refused all the same).
      const bool date = c.kind == CellKind::kDate && owner_.role_column_[2] == c.column &&
                        row.number != header_row_;
      // A date cell in the date column: its day, as the parser reads dates
      // (a serial number of Excel's 1900 date system, or an ISO date).
      std::string day;
      if (c.kind == CellKind::kDate && owner_.role_column_[3] == c.column && row.number != header_row_) {
        day = date_cell_text(c.text);
      }
      const std::string_view text = date ? std::string_view("0")
                                    : !day.empty() ? std::string_view(day)
                                                   : std::string_view(c.text);
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
          1 + std::max({owner_.role_column_[0], owner_.role_column_[1], owner_.role_column_[2],
                        owner_.role_column_[3]});
      while (static_cast<std::int64_t>(column) + 1 < needed) {
        out += ',';
        ++column;
      }
    }
    out += '\n';
    batch_.ends.push_back(out.size());
    line_ += 1 + breaks;
    if (breaks != 0) {
      // A text with line breaks took more than one line: the parser's lines
      // run ahead of the rows from here on.
      const std::size_t extra = shifts_.empty() ? 0 : shifts_.back().extra;
      shifts_.push_back({row.number + 1, line_ + 1, extra + breaks});
      side().shift = shifts_.back();
    }
    if (batch_.text.size() >= kBatchBytes || batch_.sides.size() >= kBatchSides) {
      if (!flush(false)) return WorkbookProblem{"", "", "stopped"};
    }
    return std::nullopt;
  }

  std::optional<WorkbookProblem> on_merge(const MergeRange& m) override {
    if (merges_++ < kMaxMergesReported) {
      const std::size_t line = line_of(m.first_row);
      owner_.merge_cells_.emplace_back(line, cell_ref(m.first_column, m.first_row));
      side().problem = ReportProblem{line, "", ProblemCode::kMergedCells,
                                     {{"first", cell_ref(m.first_column, m.first_row)},
                                      {"last", cell_ref(m.last_column, m.last_row)}}};
    }
    return std::nullopt;
  }

  // Sends what is pending; `last` marks the end of the read.
  bool flush(bool last) {
    batch_.last = last;
    Batch next;
    next.text.reserve(kBatchBytes + 1024);
    std::swap(next, batch_);
    return channel_.push(std::move(next));
  }

 private:
  static constexpr std::size_t kBatchBytes = 64 * 1024;
  static constexpr std::size_t kBatchSides = 1024;

  // A new side entry, before the next row of the batch.
  Side& side() {
    batch_.sides.emplace_back();
    batch_.sides.back().at_row = batch_.ends.size();
    return batch_.sides.back();
  }

  std::size_t line_of(std::size_t row) const {
    std::size_t extra = 0;
    for (const Shift& s : shifts_) {
      if (row >= s.row) extra = s.extra;
    }
    return row + extra;
  }

  WorkbookReport& owner_;
  Channel& channel_;
  Batch batch_;
  std::vector<Shift> shifts_;   // the reading thread's copy
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
  run([&](SheetSink& feeder) { return read_workbook(bytes, store, limits_, feeder); }, sink);
}

void WorkbookReport::read_fd(int fd, std::string_view store, const ReportParser::RowSink& sink) {
  run([&](SheetSink& feeder) { return read_workbook_fd(fd, store, limits_, feeder); }, sink);
}

void WorkbookReport::read_file(const std::string& path, std::string_view store,
                               const ReportParser::RowSink& sink) {
  run([&](SheetSink& feeder) { return read_workbook_file(path, store, limits_, feeder); }, sink);
}

void WorkbookReport::run(const std::function<std::optional<WorkbookProblem>(SheetSink&)>& reader,
                         const ReportParser::RowSink& sink) {
  // The archive is inflated and its XML parsed on a thread of its own while
  // this one parses the records and calls `sink` (the loader's writes): on
  // two cores the two halves overlap. The reading thread ends before this
  // function returns, whatever happens here.
  Channel channel;
  Feeder feeder(*this, channel);
  std::optional<WorkbookProblem> problem;
  std::exception_ptr failure;
  std::thread reading([&] {
    try {
      problem = reader(feeder);
      (void)feeder.flush(true);
    } catch (...) {
      failure = std::current_exception();
      Batch end;
      end.last = true;
      (void)channel.push(std::move(end));
    }
  });
  struct Joiner {
    Channel& channel;
    std::thread& thread;
    ~Joiner() {
      channel.cancel();
      if (thread.joinable()) thread.join();
    }
  } joiner{channel, reading};

  const ReportParser::RowSink wrapped = [this, &sink](const ReportRow& r) {
    ReportRow copy = r;
    copy.line = row_of(r.line);
    sink(copy);
  };
  bool stopped = false;
  for (;;) {
    Batch batch = channel.pop();
    const std::string_view text(batch.text);
    std::size_t side = 0;
    const auto apply_sides = [&](std::size_t row) {
      for (; side < batch.sides.size() && batch.sides[side].at_row == row; ++side) {
        Side& s = batch.sides[side];
        if (s.problem) parser_.add_problem(std::move(*s.problem));
        if (s.shift) shifts_.push_back(*s.shift);
      }
    };
    std::size_t begin = 0;
    for (std::size_t row = 0; row < batch.ends.size(); ++row) {
      apply_sides(row);
      if (stop_ && stop_()) {
        stopped = true;
        break;
      }
      parser_.feed(text.substr(begin, batch.ends[row] - begin), wrapped);
      begin = batch.ends[row];
    }
    if (stopped) break;
    apply_sides(batch.ends.size());
    if (batch.last) break;
  }
  channel.cancel();
  if (reading.joinable()) reading.join();
  if (failure) std::rethrow_exception(failure);
  if (stopped) {
    stopped_ = true;
    return;
  }
  if (problem) {
    // A problem of the whole report, naming its sheet and cell, with the
    // code and values it was raised with: rendered in the reader's
    // language at the edge.
    parser_.add_problem(static_cast<ReportProblem&&>(std::move(*problem)));
    return;
  }
  parser_.finish(wrapped);
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

ReportProblem WorkbookReport::located(const ReportProblem& problem) const {
  ReportProblem p = problem;
  if (problem.line == 0 || sheet_.empty()) return p;
  p.line = row_of(p.line);
  p.sheet = sheet_;
  for (int r = 0; r < 4; ++r) {
    if (p.column == kRoles[r] && role_column_[r] >= 0) {
      p.cell = cell_ref(static_cast<std::uint32_t>(role_column_[r]), static_cast<std::uint32_t>(p.line));
      return p;
    }
  }
  for (const auto& [line, cell] : merge_cells_) {
    if (line == problem.line && p.column.empty() && p.code == ProblemCode::kMergedCells) {
      p.cell = cell;
      return p;
    }
  }
  return p;
}

std::string WorkbookReport::render(const ReportProblem& problem) const {
  return located(problem).to_string();
}

std::string WorkbookReport::problems_text() const {
  return parser_.problems_text([this](const ReportProblem& p) { return render(p); });
}

std::string WorkbookReport::problems_json() const {
  std::vector<ReportProblem> located_problems;
  located_problems.reserve(parser_.problems().size());
  for (const ReportProblem& p : parser_.problems()) located_problems.push_back(located(p));
  return problems_to_json(located_problems, parser_.problem_count());
}

}  // namespace stockwatch::workbook
