// Streaming parser for warehouse stock reports. See report_parser.hpp for the
// contract. Reports come from spreadsheets exported by store staff, so the
// parser is lenient about layout (delimiter, line ends, BOM, header names and
// order) and strict about the values that end up in stock levels.

#include "report/report_parser.hpp"

#include "report/report_date.hpp"
#include "base/ascii.hpp"
#include "text/utf8.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

namespace stockwatch {
namespace {

constexpr int kStore = 0;
constexpr int kItem = 1;
constexpr int kCount = 2;
constexpr const char* kRoleNames[4] = {"store", "item", "count", "date"};
constexpr int kDate = 3;
constexpr int kHeaderSlot = 4;

// Delimiters tried on the header, in order of preference.
constexpr char kDelimiters[] = {',', ';', '\t', '|'};

// A value quoted in a message is cut to this many bytes.
constexpr std::size_t kShownBytes = 60;
// A field that spans lines is invalid as a store, item or count whatever it
// holds, so only its beginning is kept (for the message); this keeps memory
// bounded when a stray quote swallows the rest of the file.
constexpr std::size_t kKeptAfterBreak = 256;
// Header names listed in a message about a missing column.
constexpr std::size_t kMaxNamesShown = 20;
// Header columns beyond this are ignored.
constexpr std::size_t kMaxHeaderColumns = 1024;


bool is_space(char c, char delimiter) {
  return c == ' ' || (c == '\t' && delimiter != '\t');
}

std::string_view trim(std::string_view s, char delimiter) {
  while (!s.empty() && is_space(s.front(), delimiter)) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back(), delimiter)) s.remove_suffix(1);
  return s;
}

// Trims both space and tab, whatever the delimiter.
std::string_view trim_all(std::string_view s) { return trim(s, '\0'); }

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_digit);
}

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7F; }

// Whether `s` holds a control character, eight bytes at a time: every
// store and item name of a report is checked, so this is on the hot path.
bool has_control(std::string_view s) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  const char* p = s.data();
  std::size_t n = s.size();
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    // A byte below 0x20 (the classic "has a byte less than" test), or a
    // byte equal to 0x7F (a zero byte of w ^ 0x7F7F...).
    const std::uint64_t del = w ^ (kOnes * 0x7F);
    if ((((w - kOnes * 0x20) & ~w) | ((del - kOnes) & ~del)) & kHigh) return true;
    p += 8;
    n -= 8;
  }
  for (; n > 0; ++p, --n) {
    if (is_control(static_cast<unsigned char>(*p))) return true;
  }
  return false;
}

std::string hex2(unsigned char c) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  return {kHex[c >> 4], kHex[c & 0xF]};
}

// A day (since 1970-01-01) as 2026-11-30.
std::string day_text(std::int64_t day) {
  const std::chrono::year_month_day ymd{std::chrono::sys_days(std::chrono::days(day))};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

// A value as shown inside a message: control characters escaped, invalid
// UTF-8 replaced by '?', and long values cut with "...".
std::string show(std::string_view v) {
  std::string out;
  const auto* p = reinterpret_cast<const unsigned char*>(v.data());
  std::size_t n = v.size();
  while (n > 0) {
    std::string unit;
    std::size_t len = utf8_sequence_length(v, v.size() - n);
    if (len == 0) {
      unit = "?";
      len = 1;
    } else if (len == 1 && is_control(p[0])) {
      switch (p[0]) {
        case '\n': unit = "\\n"; break;
        case '\r': unit = "\\r"; break;
        case '\t': unit = "\\t"; break;
        default: unit = "\\x" + hex2(p[0]); break;
      }
    } else {
      unit.assign(reinterpret_cast<const char*>(p), len);
    }
    if (out.size() + unit.size() > kShownBytes && n > len) {
      out += "...";
      break;
    }
    out += unit;
    p += len;
    n -= len;
  }
  return out;
}


std::string strip_leading_zeros(std::string digits) {
  const std::size_t nz = digits.find_first_not_of('0');
  if (nz == std::string::npos) return "0";
  return digits.substr(nz);
}

// Counts parse on the hot path: whole numbers only, 0..max.
bool parse_count(std::string_view v, std::int64_t max, std::int64_t& out) {
  if (v.empty()) return false;
  std::int64_t value = 0;
  for (const char c : v) {
    if (!is_digit(c)) return false;
    const int d = c - '0';
    if (d > max || value > (max - d) / 10) return false;
    value = value * 10 + d;
  }
  out = value;
  return true;
}

// "1.000", "1,000", "1 000", "1'000", "1 000" (no-break spaces): digits in
// groups of three with one kind of separator. Returns the digits, or "".
std::string thousands_digits(std::string_view v) {
  static constexpr std::string_view kSeparators[] = {".", ",", " ", "'", "\xC2\xA0",
                                                     "\xE2\x80\xAF"};
  std::size_t lead = 0;
  while (lead < v.size() && is_digit(v[lead])) ++lead;
  if (lead == 0 || lead > 3 || lead == v.size()) return {};
  for (const std::string_view sep : kSeparators) {
    if (v.substr(lead, sep.size()) != sep) continue;
    std::string digits(v.substr(0, lead));
    std::size_t i = lead;
    bool ok = true;
    while (i < v.size()) {
      if (v.substr(i, sep.size()) != sep || i + sep.size() + 3 > v.size() ||
          !all_digits(v.substr(i + sep.size(), 3))) {
        ok = false;
        break;
      }
      digits.append(v.substr(i + sep.size(), 3));
      i += sep.size() + 3;
    }
    if (ok) return strip_leading_zeros(std::move(digits));
    return {};
  }
  return {};
}

// "2.5", "2,5", "2.", ".5": one decimal mark between digits.
bool is_decimal(std::string_view v, std::string_view& whole, std::string_view& fraction) {
  const std::size_t mark = v.find_first_of(".,");
  if (mark == std::string_view::npos) return false;
  whole = v.substr(0, mark);
  fraction = v.substr(mark + 1);
  if (whole.empty() && fraction.empty()) return false;
  return (whole.empty() || all_digits(whole)) && (fraction.empty() || all_digits(fraction));
}

bool is_number_like(std::string_view v) {
  std::string_view whole;
  std::string_view fraction;
  return all_digits(v) || !thousands_digits(v).empty() || is_decimal(v, whole, fraction);
}

// Why `v` (already trimmed) is not an acceptable count.
struct CountProblem {
  ProblemCode code;
  std::vector<std::pair<std::string, std::string>> args;
};

CountProblem count_problem(std::string_view v, std::int64_t max) {
  using enum ProblemCode;
  if (v.empty()) return {kCountEmpty, {}};
  const auto found = std::pair<std::string, std::string>("found", show(v));
  const auto write = [&](std::string digits) -> CountProblem {
    return {kCountNotWholeWrite, {found, {"write", std::move(digits)}}};
  };
  if (all_digits(v)) return {kCountTooLarge, {found, {"max", std::to_string(max)}}};
  if (v.front() == '-' && is_number_like(v.substr(1))) {
    const std::string_view rest = v.substr(1);
    if (all_digits(rest) && rest.find_first_not_of('0') == std::string_view::npos) {
      return write("0");
    }
    return {kCountNegative, {found}};
  }
  if (v.front() == '+') {
    const std::string_view rest = v.substr(1);
    if (all_digits(rest)) return write(strip_leading_zeros(std::string(rest)));
    if (std::string digits = thousands_digits(rest); !digits.empty()) return write(digits);
    return {kCountNotWhole, {found}};
  }
  if (std::string digits = thousands_digits(v); !digits.empty()) return write(digits);
  std::string_view whole;
  std::string_view fraction;
  if (is_decimal(v, whole, fraction)) {
    if (!whole.empty() && fraction.find_first_not_of('0') == std::string_view::npos) {
      return write(strip_leading_zeros(std::string(whole)));
    }
    return {kCountFraction, {found}};
  }
  return {kCountNotWhole, {found}};
}

// A control character as the catalog names it: "U+000A" ("line break").
std::string control_code(unsigned char c) { return "U+00" + hex2(c); }

// Splits one header line with `delimiter`, honouring quotes; used to detect
// the delimiter before the header is parsed for real.
std::vector<std::string> split_header_line(std::string_view line, char delimiter) {
  std::vector<std::string> fields(1);
  bool in_quotes = false;
  bool at_start = true;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < line.size() && line[i + 1] == '"') {
          fields.back() += '"';
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        fields.back() += c;
      }
    } else if (c == delimiter) {
      if (fields.size() >= kMaxHeaderColumns) break;
      fields.emplace_back();
      at_start = true;
    } else if (at_start && c == '"') {
      in_quotes = true;
      at_start = false;
    } else {
      if (!is_space(c, delimiter)) at_start = false;
      fields.back() += c;
    }
  }
  return fields;
}

int role_of(std::string_view name, const HeaderAliases& aliases) {
  const std::string key = ascii_lower(trim_all(name));
  const std::vector<std::string>* lists[4] = {&aliases.store, &aliases.item, &aliases.count,
                                              &aliases.date};
  for (int r = 0; r < 4; ++r) {
    for (const std::string& alias : *lists[r]) {
      if (key == alias) return r;
    }
  }
  return -1;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

}  // namespace

int header_role(std::string_view name, const HeaderAliases& aliases) {
  return role_of(name, aliases);
}

ReportParser::ReportParser(ParserLimits limits, HeaderAliases aliases)
    : limits_(limits), aliases_(std::move(aliases)) {
  for (auto* list : {&aliases_.store, &aliases_.item, &aliases_.count, &aliases_.date}) {
    for (std::string& alias : *list) alias = ascii_lower(trim_all(alias));
  }
}

void ReportParser::add_problem(ReportProblem problem) {
  if (problem.message.empty()) problem.message = problem.text(english());
  ++problem_count_;
  if (problems_.size() < limits_.max_problems) problems_.push_back(std::move(problem));
}

void ReportParser::report(std::size_t line, const char* column, ProblemCode code,
                          std::vector<std::pair<std::string, std::string>> args) {
  ++problem_count_;
  if (problems_.size() < limits_.max_problems) {
    ReportProblem p{line, column ? column : "", code, std::move(args)};
    p.message = p.text(english());
    problems_.push_back(std::move(p));
  }
}

std::string ReportParser::problems_text() const {
  return render_problems(problems_, problem_count_, english());
}

std::string ReportParser::problems_json() const {
  return problems_to_json(problems_, problem_count_);
}

std::string ReportParser::problems_text(
    const std::function<std::string(const ReportProblem&)>& render) const {
  std::vector<const ReportProblem*> sorted;
  sorted.reserve(problems_.size());
  for (const ReportProblem& p : problems_) sorted.push_back(&p);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const ReportProblem* a, const ReportProblem* b) { return a->line < b->line; });
  std::string out;
  for (const ReportProblem* p : sorted) {
    if (!out.empty()) out += '\n';
    out += render(*p);
  }
  if (problem_count_ > problems_.size()) {
    const std::size_t more = problem_count_ - problems_.size();
    if (!out.empty()) out += '\n';
    out += "... and " + std::to_string(more) + (more == 1 ? " more problem" : " more problems");
  }
  return out;
}

void ReportParser::feed(std::string_view chunk, const RowSink& sink) {
  if (stopped_ || finished_) return;
  if (!bom_checked_) {
    static constexpr char kBom[] = "\xEF\xBB\xBF";
    while (!chunk.empty() && bom_len_ < 3 && chunk.front() == kBom[bom_len_]) {
      bom_head_[bom_len_++] = chunk.front();
      chunk.remove_prefix(1);
    }
    if (bom_len_ == 3) {
      bom_checked_ = true;  // a BOM: dropped
      bom_len_ = 0;
    } else if (chunk.empty()) {
      return;  // may still turn out to be a BOM
    } else {
      bom_checked_ = true;
      const std::string head(bom_head_, bom_len_);
      bom_len_ = 0;
      scan(head, sink);
    }
  }
  scan(chunk, sink);
}

void ReportParser::finish(const RowSink& sink) {
  if (finished_) return;
  if (!bom_checked_) {
    bom_checked_ = true;
    const std::string head(bom_head_, bom_len_);
    bom_len_ = 0;
    scan(head, sink);
  }
  finished_ = true;
  if (stopped_) return;
  if (!pending_.empty()) {
    process_line(pending_, sink);
    pending_.clear();
    if (stopped_) return;
  }
  if (in_record_) {
    // Only a quoted field can keep a record open across the end of a line.
    report(quote_line_, nullptr, ProblemCode::kUnclosedQuote);
    in_record_ = false;
    return;
  }
  if (!header_done_) {
    report(0, nullptr, ProblemCode::kEmptyReport);
  } else if (data_records_ == 0) {
    report(0, nullptr, ProblemCode::kHeaderWithoutRows);
  }
}

// Splits `data` into physical lines (LF, CRLF or CR), joining lines that
// straddle chunks in pending_. Stops at a NUL byte or an overlong line.
void ReportParser::scan(std::string_view data, const RowSink& sink) {
  if (stopped_ || data.empty()) return;
  const char* p = data.data();
  const std::size_t n = data.size();
  std::size_t i = 0;
  if (saw_cr_) {
    saw_cr_ = false;
    if (p[0] == '\n') i = 1;  // the LF of a CRLF split across chunks
  }
  const void* nul = std::memchr(p + i, '\0', n - i);
  const std::size_t end = nul ? static_cast<std::size_t>(static_cast<const char*>(nul) - p) : n;
  // Offset of the next LF at or after i (end if none); cached so that files
  // with CR line ends are not rescanned for LF on every line.
  std::size_t next_lf = i;
  bool lf_known = false;
  while (i < end) {
    if (!lf_known || next_lf < i) {
      const void* lf = std::memchr(p + i, '\n', end - i);
      next_lf = lf ? static_cast<std::size_t>(static_cast<const char*>(lf) - p) : end;
      lf_known = true;
    }
    const void* cr = std::memchr(p + i, '\r', next_lf - i);
    const std::size_t j = cr ? static_cast<std::size_t>(static_cast<const char*>(cr) - p) : next_lf;
    if (j == end) break;
    if (pending_.size() + (j - i) > limits_.max_line_bytes) {
      report(line_no_ + 1, nullptr, ProblemCode::kLineTooLong,
             {{"limit", std::to_string(limits_.max_line_bytes)}});
      stopped_ = true;
      return;
    }
    if (pending_.empty()) {
      process_line(std::string_view(p + i, j - i), sink);
    } else {
      pending_.append(p + i, j - i);
      process_line(pending_, sink);
      pending_.clear();
    }
    if (stopped_) return;
    std::size_t next = j + 1;
    if (p[j] == '\r') {
      if (next < n) {
        if (p[next] == '\n') ++next;
      } else {
        saw_cr_ = true;
      }
    }
    i = next;
  }
  const std::size_t rest = end > i ? end - i : 0;
  if (pending_.size() + rest > limits_.max_line_bytes) {
    report(line_no_ + 1, nullptr, ProblemCode::kLineTooLong,
           {{"limit", std::to_string(limits_.max_line_bytes)}});
    stopped_ = true;
    return;
  }
  pending_.append(p + i, rest);
  if (nul) {
    report(line_no_ + 1, nullptr, ProblemCode::kBinaryData);
    stopped_ = true;
    pending_.clear();
  }
}

bool ReportParser::is_blank(std::string_view line) const {
  for (const char c : line) {
    if (c == ' ' || c == '\t') continue;
    if (header_done_) {
      if (c == delimiter_) continue;
    } else if (c == ',' || c == ';' || c == '|') {
      continue;
    }
    return false;
  }
  return true;
}

void ReportParser::process_line(std::string_view line, const RowSink& sink) {
  ++line_no_;
  if (!in_record_) {
    if (is_blank(line)) return;
    record_line_ = line_no_;
    record_bad_utf8_ = false;
  }
  if (!valid_utf8(line)) {
    report(line_no_, nullptr, ProblemCode::kNotUtf8);
    record_bad_utf8_ = true;
  }
  if (!header_done_) {
    if (!in_record_) {
      delimiter_ = ',';
      for (const char d : kDelimiters) {
        bool found[4] = {false, false, false, false};
        for (const std::string& name : split_header_line(line, d)) {
          const int r = role_of(name, aliases_);
          if (r >= 0) found[r] = true;
        }
        if (found[0] && found[1] && found[2]) {
          delimiter_ = d;
          break;
        }
      }
      start_record();
    }
    parse_quoted_line(line, sink);
    return;
  }
  if (!in_record_ && std::memchr(line.data(), '"', line.size()) == nullptr) {
    process_fast_row(line, sink);
    return;
  }
  if (!in_record_) start_record();
  parse_quoted_line(line, sink);
}

// A row on one line without any quote: fields are views into the line.
void ReportParser::process_fast_row(std::string_view line, const RowSink& sink) {
  ++data_records_;
  if (record_bad_utf8_) return;
  std::string_view role[4];
  std::size_t columns = 0;
  const char* s = line.data();
  const char* const e = s + line.size();
  while (true) {
    const void* d = std::memchr(s, delimiter_, static_cast<std::size_t>(e - s));
    const char* field_end = d ? static_cast<const char*>(d) : e;
    const int r = column_role_[columns];
    if (r >= 0) role[r] = std::string_view(s, static_cast<std::size_t>(field_end - s));
    ++columns;
    if (!d || columns == needed_cols_) break;
    s = field_end + 1;
  }
  // Values past the header's last column make the row ambiguous: "1,000"
  // split by the delimiter, or a name with an unquoted delimiter.
  bool extra = false;
  if (columns == needed_cols_ && s < e) {
    const char* p = s;
    const void* d = std::memchr(p, delimiter_, static_cast<std::size_t>(e - p));
    std::size_t col = columns;  // index of the field after the current one
    while (d) {
      p = static_cast<const char*>(d) + 1;
      d = std::memchr(p, delimiter_, static_cast<std::size_t>(e - p));
      const char* fe = d ? static_cast<const char*>(d) : e;
      if (col >= header_cols_ && !trim(std::string_view(p, static_cast<std::size_t>(fe - p)), delimiter_).empty()) {
        extra = true;
      }
      ++col;
    }
    if (extra) columns = col;
  }
  for (std::string_view& v : role) v = trim(v, delimiter_);
  check_row(role[kStore], role[kStore].size(), role[kItem], role[kItem].size(), role[kCount],
            role[kDate], columns, sink, extra);
}

void ReportParser::start_record() {
  in_record_ = true;
  extra_values_ = false;
  state_ = FieldState::kStart;
  field_index_ = 0;
  if (!header_done_) header_fields_.clear();
  start_field();
}

void ReportParser::start_field() {
  field_len_ = 0;
  field_nonspace_ = false;
  field_quoted_ = false;
  field_has_break_ = false;
  field_slot_ = -1;
  if (!header_done_) {
    if (header_fields_.size() < kMaxHeaderColumns) {
      header_fields_.emplace_back();
      field_slot_ = kHeaderSlot;
    }
  } else if (field_index_ < column_role_.size() && column_role_[field_index_] >= 0) {
    field_slot_ = column_role_[field_index_];
    role_value_[field_slot_].clear();
  }
}

void ReportParser::append(char c) {
  ++field_len_;
  if (!is_space(c, delimiter_)) field_nonspace_ = true;
  if (field_slot_ < 0) return;
  std::string& f = field_slot_ == kHeaderSlot ? header_fields_.back() : role_value_[field_slot_];
  if (!field_has_break_ || f.size() < kKeptAfterBreak) f.push_back(c);
}

void ReportParser::end_field() {
  if (header_done_ && field_index_ >= header_cols_ && field_nonspace_) extra_values_ = true;
  if (field_slot_ >= 0) {
    std::string& f = field_slot_ == kHeaderSlot ? header_fields_.back() : role_value_[field_slot_];
    if (!field_quoted_) {
      while (!f.empty() && is_space(f.back(), delimiter_)) f.pop_back();
      field_len_ = f.size();
    }
    if (field_slot_ != kHeaderSlot) role_len_[field_slot_] = field_len_;
  }
  ++field_index_;
}

// RFC 4180 fields, one physical line at a time; a quoted field left open at
// the end of the line continues on the next line with a line break.
void ReportParser::parse_quoted_line(std::string_view line, const RowSink& sink) {
  const char delim = delimiter_;
  for (const char c : line) {
    switch (state_) {
      case FieldState::kStart:
        if (c == delim) {
          end_field();
          start_field();
        } else if (is_space(c, delim)) {
          // leading space of an unquoted value, or before an opening quote
        } else if (c == '"') {
          state_ = FieldState::kQuoted;
          field_quoted_ = true;
          quote_line_ = line_no_;
        } else {
          state_ = FieldState::kUnquoted;
          append(c);
        }
        break;
      case FieldState::kUnquoted:
        if (c == delim) {
          end_field();
          start_field();
          state_ = FieldState::kStart;
        } else {
          append(c);
        }
        break;
      case FieldState::kQuoted:
        if (c == '"') {
          state_ = FieldState::kQuoteInQuoted;
        } else {
          append(c);
        }
        break;
      case FieldState::kQuoteInQuoted:
        if (c == '"') {  // a doubled quote stands for one quote
          append('"');
          state_ = FieldState::kQuoted;
          break;
        }
        state_ = FieldState::kAfterQuote;
        [[fallthrough]];
      case FieldState::kAfterQuote:
        if (c == delim) {
          end_field();
          start_field();
          state_ = FieldState::kStart;
        } else if (!is_space(c, delim)) {
          append(c);  // text after the closing quote is kept as written
        }
        break;
    }
  }
  if (state_ == FieldState::kQuoted) {
    field_has_break_ = true;
    append('\n');
    return;
  }
  end_field();
  in_record_ = false;
  process_record(sink);
}

void ReportParser::process_record(const RowSink& sink) {
  if (!header_done_) {
    process_header();
    return;
  }
  ++data_records_;
  if (record_bad_utf8_) return;
  const std::size_t columns = field_index_;
  if (columns < needed_cols_) {
    check_row({}, 0, {}, 0, {}, {}, columns, sink);
    return;
  }
  check_row(role_value_[kStore], role_len_[kStore], role_value_[kItem], role_len_[kItem],
            trim_all(role_value_[kCount]), trim_all(role_value_[kDate]), columns, sink,
            extra_values_);
}

void ReportParser::process_header() {
  header_done_ = true;
  const std::size_t line = record_line_;
  header_cols_ = header_fields_.size();
  std::vector<std::size_t> matches[4];
  std::vector<std::string> found;
  for (std::size_t c = 0; c < header_fields_.size(); ++c) {
    const std::string_view name = trim_all(header_fields_[c]);
    if (!name.empty() && found.size() <= kMaxNamesShown) {
      found.push_back(found.size() < kMaxNamesShown ? show(name) : std::string("..."));
    }
    const int r = role_of(name, aliases_);
    if (r >= 0) matches[r].push_back(c);
  }
  const std::vector<std::string>* lists[3] = {&aliases_.store, &aliases_.item, &aliases_.count};
  bool missing = false;
  for (int r = 0; r < 3; ++r) {
    if (!matches[r].empty()) continue;
    missing = true;
    if (found.empty()) {
      report(line, nullptr, ProblemCode::kMissingColumnNoNames,
             {{"role", kRoleNames[r]}, {"names", join(*lists[r])}});
    } else {
      report(line, nullptr, ProblemCode::kMissingColumn,
             {{"role", kRoleNames[r]}, {"found", join(found)}, {"names", join(*lists[r])}});
    }
  }
  if (missing) {
    stopped_ = true;  // without the columns no row can be read
    header_fields_ = {};
    return;
  }
  column_role_.clear();
  needed_cols_ = 0;
  has_date_ = !matches[kDate].empty();
  for (int r = 0; r < 4; ++r) {
    if (matches[r].empty()) continue;  // the date column is optional
    const std::size_t first = matches[r].front();
    for (std::size_t k = 1; k < matches[r].size(); ++k) {
      const std::size_t other = matches[r][k];
      report(line, nullptr, ProblemCode::kDuplicateColumn,
             {{"role", kRoleNames[r]},
              {"first", show(trim_all(header_fields_[first]))},
              {"first_column", std::to_string(first + 1)},
              {"second", show(trim_all(header_fields_[other]))},
              {"second_column", std::to_string(other + 1)}});
    }
    needed_cols_ = std::max(needed_cols_, first + 1);
  }
  column_role_.assign(needed_cols_, -1);
  for (int r = 0; r < 4; ++r) {
    if (!matches[r].empty()) column_role_[matches[r].front()] = static_cast<signed char>(r);
  }
  header_fields_ = {};
}

// `full_len` is the value's real length; only the beginning of a value that
// spans lines is kept.
bool ReportParser::check_name(std::string_view value, std::size_t full_len, const char* role) {
  if (trim_all(value).empty()) {
    report(record_line_, role, ProblemCode::kEmptyName, {{"role", role}});
    return false;
  }
  for (const char c : has_control(value) ? value : std::string_view()) {
    const auto u = static_cast<unsigned char>(c);
    if (is_control(u)) {
      report(record_line_, role, ProblemCode::kControlCharacter,
             {{"role", role}, {"character", control_code(u)}});
      return false;
    }
  }
  if (full_len > limits_.max_name_bytes) {
    report(record_line_, role, ProblemCode::kNameTooLong,
           {{"role", role},
            {"length", std::to_string(full_len)},
            {"limit", std::to_string(limits_.max_name_bytes)}});
    return false;
  }
  return true;
}

// One date per report: the first row's; every other row must say the same.
bool ReportParser::check_date(std::string_view date) {
  date = trim_all(date);
  if (date.empty()) {
    report(record_line_, kRoleNames[kDate], ProblemCode::kDateEmpty);
    return false;
  }
  const auto day = parse_report_day(date);
  if (!day) {
    report(record_line_, kRoleNames[kDate], ProblemCode::kDateInvalid, {{"found", show(date)}});
    return false;
  }
  if (!report_day_) {
    report_day_ = *day;
    report_day_line_ = record_line_;
    return true;
  }
  if (*day != *report_day_) {
    report(record_line_, kRoleNames[kDate], ProblemCode::kDateDiffers,
           {{"found", show(date)},
            {"first", day_text(*report_day_)},
            {"first_line", std::to_string(report_day_line_)}});
    return false;
  }
  return true;
}

void ReportParser::check_row(std::string_view store, std::size_t store_len, std::string_view item,
                             std::size_t item_len, std::string_view count, std::string_view date,
                             std::size_t columns, const RowSink& sink, bool extra) {
  if (columns < needed_cols_) {
    report(record_line_, nullptr, ProblemCode::kTooFewColumns,
           {{"n", std::to_string(columns)}, {"needed", std::to_string(needed_cols_)}});
    return;
  }
  if (extra) {
    if (delimiter_ == '\t') {
      report(record_line_, nullptr, ProblemCode::kExtraValuesTab,
             {{"columns", std::to_string(columns)},
              {"header_columns", std::to_string(header_cols_)}});
    } else {
      report(record_line_, nullptr, ProblemCode::kExtraValues,
             {{"columns", std::to_string(columns)},
              {"header_columns", std::to_string(header_cols_)},
              {"delimiter", std::string(1, delimiter_)}});
    }
    return;
  }
  bool good = check_name(store, store_len, kRoleNames[kStore]);
  good = check_name(item, item_len, kRoleNames[kItem]) && good;
  std::int64_t value = 0;
  count = trim_all(count);
  if (!parse_count(count, limits_.max_count, value)) {
    auto problem = count_problem(count, limits_.max_count);
    report(record_line_, kRoleNames[kCount], problem.code, std::move(problem.args));
    good = false;
  }
  if (has_date_) good = check_date(date) && good;
  if (!good) return;
  ++rows_;
  if (sink) sink(ReportRow{store, item, value, record_line_, report_day_});
}

}  // namespace stockwatch
