#include "report/report_date.hpp"

#include <cctype>
#include <string>
#include <vector>

#include "pipeline/usage.hpp"

namespace stockwatch {

const char* to_string(ReportDateSource s) {
  switch (s) {
    case ReportDateSource::kName: return "name";
    case ReportDateSource::kColumn: return "column";
    case ReportDateSource::kReceived: break;
  }
  return "received";
}

ReportDateSource report_date_source_from(std::string_view name) {
  if (name == "name") return ReportDateSource::kName;
  if (name == "column") return ReportDateSource::kColumn;
  return ReportDateSource::kReceived;
}

namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }

// Runs of digits in `s`, with the separator that follows each ('\0' at the end).
struct Run {
  std::size_t pos, len;
  char after;
};

std::optional<std::int64_t> make_day(int y, int m, int d) {
  if (y < 2000 || y > 2099 || m < 1 || m > 12) return std::nullopt;
  const unsigned last = last_day_of_month(y, static_cast<unsigned>(m));
  if (d == 0) d = static_cast<int>(last);
  if (d < 1 || d > static_cast<int>(last)) return std::nullopt;
  return day_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
}

int num(std::string_view s, std::size_t pos, std::size_t len) {
  int v = 0;
  for (std::size_t i = pos; i < pos + len; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

}  // namespace

std::optional<std::int64_t> report_day_from_name(std::string_view path) {
  std::vector<Run> runs;
  for (std::size_t i = 0; i < path.size();) {
    if (!digit(path[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < path.size() && digit(path[j])) ++j;
    runs.push_back({i, j - i, j < path.size() ? path[j] : '\0'});
    i = j;
  }
  const auto sep = [](char c) { return c == '-' || c == '_' || c == '/' || c == '.'; };
  std::optional<std::int64_t> found;
  for (std::size_t k = 0; k < runs.size(); ++k) {
    const Run& r = runs[k];
    std::optional<std::int64_t> day;
    std::size_t used = 1;
    if (r.len == 8) {
      day = make_day(num(path, r.pos, 4), num(path, r.pos + 4, 2), num(path, r.pos + 6, 2));
    } else if (r.len == 4) {
      const int y = num(path, r.pos, 4);
      const bool adjacent = k + 1 < runs.size() && runs[k + 1].pos == r.pos + 5 && sep(r.after);
      if (adjacent && runs[k + 1].len <= 2) {
        const int m = num(path, runs[k + 1].pos, runs[k + 1].len);
        const Run& mr = runs[k + 1];
        const bool has_day = k + 2 < runs.size() && runs[k + 2].len <= 2 &&
                             runs[k + 2].pos == mr.pos + mr.len + 1 && mr.after == r.after;
        if (has_day) {
          day = make_day(y, m, num(path, runs[k + 2].pos, runs[k + 2].len));
          used = 3;
        }
        if (!day) {
          day = make_day(y, m, 0);
          used = 2;
        }
      }
    }
    if (day) {
      found = day;
      k += used - 1;
    }
  }
  return found;
}

std::optional<std::int64_t> parse_report_day(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  // Only digits and separators; a time after a 'T' or a space is ignored.
  if (const auto t = text.find_first_of("T "); t != std::string_view::npos) text = text.substr(0, t);
  std::vector<int> parts;
  std::vector<std::size_t> lens;
  std::size_t i = 0;
  while (i < text.size()) {
    if (!digit(text[i])) return std::nullopt;
    std::size_t j = i;
    while (j < text.size() && digit(text[j])) ++j;
    if (j - i > 4) return std::nullopt;
    parts.push_back(num(text, i, j - i));
    lens.push_back(j - i);
    if (j < text.size() && text[j] != '-' && text[j] != '/' && text[j] != '.') return std::nullopt;
    i = j + 1;
    if (j + 1 == text.size() && j < text.size()) return std::nullopt;  // trailing separator
  }
  if (parts.size() == 3 && lens[0] == 4) return make_day(parts[0], parts[1], parts[2]);
  if (parts.size() == 3 && lens[2] == 4) return make_day(parts[2], parts[1], parts[0]);  // 30/11/2026
  if (parts.size() == 2 && lens[0] == 4) return make_day(parts[0], parts[1], 0);
  return std::nullopt;
}

}  // namespace stockwatch
