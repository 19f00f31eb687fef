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

sys_days shift_month(sys_days d, int months) {
  const year_month_day ymd(d);
  const auto ym = ymd.year() / ymd.month() + std::chrono::months(months);
  return sys_days(ym / std::chrono::day(1));
}

constexpr const char* kWeekdays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

// The first day of the period (day, week or month) that holds local day d.
sys_days period_of(const Recurrence& r, sys_days d) {
  switch (r.every) {
    case Recurrence::Every::kDay: return d;
    case Recurrence::Every::kWeek: {
      const int wd = static_cast<int>(std::chrono::weekday(d).c_encoding());
      return d - days((wd - r.weekday + 7) % 7);
    }
    case Recurrence::Every::kMonth: {
      const year_month_day ymd(d);
      return sys_days(ymd.year() / ymd.month() / std::chrono::day(1));
    }
  }
  return d;
}

sys_days step(const Recurrence& r, sys_days period, int n) {
  switch (r.every) {
    case Recurrence::Every::kDay: return period + days(n);
    case Recurrence::Every::kWeek: return period + days(7 * n);
    case Recurrence::Every::kMonth: return shift_month(period, n);
  }
  return period;
}

// The occurrence in the period that starts on `period`.
TimePoint occurrence_in(const Recurrence& r, sys_days period) {
  sys_days day = period;
  if (r.every == Recurrence::Every::kMonth) day = period + days(r.day - 1);
  return r.zone.from_local(std::chrono::sys_seconds(day) + minutes(r.minute_of_day));
}

sys_days local_day_of(const Recurrence& r, TimePoint t) {
  return std::chrono::floor<days>(r.zone.to_local(t));
}

Recurrence as_recurrence(const MonthlySchedule& s) {
  Recurrence r;
  r.every = Recurrence::Every::kMonth;
  r.day = s.day;
  r.minute_of_day = s.minute_of_day;
  r.zone = TimeZone::fixed(s.offset_minutes);
  return r;
}

}  // namespace

TimePoint Recurrence::latest_at_or_before(TimePoint t) const {
  // The period of t's local day, else the one before (an occurrence near
  // midnight may fall in the next local day, so look one further).
  sys_days period = period_of(*this, local_day_of(*this, t));
  period = step(*this, period, 1);
  for (int i = 0; i < 4; ++i, period = step(*this, period, -1)) {
    const TimePoint here = occurrence_in(*this, period);
    if (here <= t) return here;
  }
  return occurrence_in(*this, period);
}

TimePoint Recurrence::next_after(TimePoint t) const {
  sys_days period = step(*this, period_of(*this, local_day_of(*this, t)), -1);
  for (int i = 0; i < 4; ++i, period = step(*this, period, 1)) {
    const TimePoint here = occurrence_in(*this, period);
    if (here > t) return here;
  }
  return occurrence_in(*this, period);
}

TimePoint Recurrence::previous(TimePoint at) const {
  return latest_at_or_before(at - std::chrono::milliseconds(1));
}

std::string Recurrence::to_string() const {
  char buf[64];
  const int m = minute_of_day;
  switch (every) {
    case Every::kDay: std::snprintf(buf, sizeof buf, "daily %02d:%02d", m / 60, m % 60); break;
    case Every::kWeek:
      std::snprintf(buf, sizeof buf, "weekly %s %02d:%02d", kWeekdays[weekday], m / 60, m % 60);
      break;
    case Every::kMonth: std::snprintf(buf, sizeof buf, "monthly %d %02d:%02d", day, m / 60, m % 60); break;
  }
  return std::string(buf) + " " + zone.name();
}

Result<Recurrence> parse_recurrence(std::string_view text, const TimeZone& zone) {
  const std::string shown = "\"" + std::string(text) + "\"";
  const auto bad = [&](const std::string& why) {
    return Error(ErrorCode::kInvalidInput,
                 shown + " is not a schedule: " + why +
                     "; write \"daily HH:MM\", \"weekly mon HH:MM\" or \"monthly DAY HH:MM\", "
                     "such as \"daily 07:00\"");
  };
  const std::vector<std::string> w = words(text);
  Recurrence r;
  r.zone = zone;
  std::string time;
  if (w.size() == 2 && w[0] == "daily") {
    r.every = Recurrence::Every::kDay;
    time = w[1];
  } else if (w.size() == 3 && w[0] == "weekly") {
    r.every = Recurrence::Every::kWeek;
    r.weekday = -1;
    for (int i = 0; i < 7; ++i) {
      if (w[1] == kWeekdays[i]) r.weekday = i;
    }
    if (r.weekday < 0) return bad("the day of the week must be mon, tue, wed, thu, fri, sat or sun");
    time = w[2];
  } else if (w.size() == 3 && w[0] == "monthly") {
    auto m = parse_monthly(text);
    if (!m) return bad("the day must be from 1 to 28 (every month has it) and the time HH:MM");
    r = as_recurrence(*m);
    r.zone = zone;
    return r;
  } else if (!w.empty() && (w[0] == "daily" || w[0] == "weekly" || w[0] == "monthly")) {
    return bad("the parts after \"" + w[0] + "\" are not right");
  } else {
    return bad("it must start with daily, weekly or monthly");
  }
  r.minute_of_day = clock_minutes(time, 23);
  if (r.minute_of_day < 0) return bad("the time must be HH:MM, from 00:00 to 23:59");
  return r;
}

TimePoint MonthlySchedule::latest_at_or_before(TimePoint t) const {
  return as_recurrence(*this).latest_at_or_before(t);
}

TimePoint MonthlySchedule::next_after(TimePoint t) const {
  return as_recurrence(*this).next_after(t);
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
