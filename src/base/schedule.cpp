#include "base/schedule.hpp"

#include <chrono>
#include <cstdio>
#include <sstream>
#include <vector>

namespace stockwatch {

namespace {

using std::chrono::days;
using std::chrono::minutes;
using std::chrono::sys_days;
using std::chrono::year_month_day;

std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  std::istringstream in{std::string(text)};
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// "HH:MM" -> minutes, or -1.
int clock_minutes(std::string_view s, int max_hours) {
  const auto colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 2 || s.size() != colon + 3) return -1;
  const std::string_view h = s.substr(0, colon), m = s.substr(colon + 1);
  if (!all_digits(h) || !all_digits(m)) return -1;
  const int hours = std::stoi(std::string(h)), mins = std::stoi(std::string(m));
  if (hours > max_hours || mins > 59) return -1;
  return hours * 60 + mins;
}

// The occurrence in the local month of `local_day`.
TimePoint occurrence_in(const MonthlySchedule& s, sys_days local_day) {
  const year_month_day ymd(local_day);
  const sys_days day = sys_days(ymd.year() / ymd.month() / std::chrono::day(static_cast<unsigned>(s.day)));
  return TimePoint(day) + minutes(s.minute_of_day) - minutes(s.offset_minutes);
}

sys_days local_day_of(const MonthlySchedule& s, TimePoint t) {
  return std::chrono::floor<days>(t + minutes(s.offset_minutes));
}

sys_days shift_month(sys_days d, int months) {
  const year_month_day ymd(d);
  const auto ym = ymd.year() / ymd.month() + std::chrono::months(months);
  return sys_days(ym / std::chrono::day(1));
}

}  // namespace

TimePoint MonthlySchedule::latest_at_or_before(TimePoint t) const {
  const sys_days local = local_day_of(*this, t);
  const TimePoint here = occurrence_in(*this, local);
  return here <= t ? here : occurrence_in(*this, shift_month(local, -1));
}

TimePoint MonthlySchedule::next_after(TimePoint t) const {
  const sys_days local = local_day_of(*this, t);
  const TimePoint here = occurrence_in(*this, local);
  return here > t ? here : occurrence_in(*this, shift_month(local, 1));
}

std::string MonthlySchedule::to_string() const {
  const int off = offset_minutes < 0 ? -offset_minutes : offset_minutes;
  char buf[64];
  std::snprintf(buf, sizeof buf, "monthly %d %02d:%02d %c%02d:%02d", day, minute_of_day / 60,
                minute_of_day % 60, offset_minutes < 0 ? '-' : '+', off / 60, off % 60);
  return buf;
}

Result<MonthlySchedule> parse_monthly(std::string_view text, int offset_minutes) {
  const std::string shown = "\"" + std::string(text) + "\"";
  const auto bad = [&](const std::string& why) {
    return Error(ErrorCode::kInvalidInput,
                 shown + " is not a monthly time: " + why +
                     "; write \"monthly DAY HH:MM\", such as \"monthly 1 07:00\"");
  };
  const std::vector<std::string> w = words(text);
  if (w.empty() || w[0] != "monthly") return bad("it must start with \"monthly\"");
  if (w.size() != 3) return bad("it needs a day and a time");
  MonthlySchedule s;
  if (!all_digits(w[1]) || w[1].size() > 2 || std::stoi(w[1]) < 1 || std::stoi(w[1]) > 28) {
    return bad("the day must be from 1 to 28 (every month has it)");
  }
  s.day = std::stoi(w[1]);
  s.minute_of_day = clock_minutes(w[2], 23);
  if (s.minute_of_day < 0) return bad("the time must be HH:MM, from 00:00 to 23:59");
  s.offset_minutes = offset_minutes;
  return s;
}

Result<int> parse_utc_offset(std::string_view text) {
  const int minutes = text.size() == 6 ? clock_minutes(text.substr(1), 14) : -1;
  if (text.empty() || (text[0] != '+' && text[0] != '-') || minutes < 0 || minutes > 14 * 60) {
    return Error(ErrorCode::kInvalidInput,
                 "\"" + std::string(text) +
                     "\" is not an offset from UTC; write \"+HH:MM\" or \"-HH:MM\", such as "
                     "\"+07:00\" for Western Indonesia Time (WIB)");
  }
  return text[0] == '-' ? -minutes : minutes;
}

}  // namespace stockwatch
