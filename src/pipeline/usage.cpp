#include "pipeline/usage.hpp"

#include <cmath>
#include <cstdio>

namespace stockwatch {

UsageFigures observe(const std::optional<UsageFigures>& before, std::int64_t day,
                     std::int64_t count) {
  if (!before) return {day, day, count, 0, 0};
  UsageFigures f = *before;
  if (day < f.last_day) return f;  // an older report: history only
  if (day > f.last_day && count > 0 && count <= f.last_count) {
    f.used += f.last_count - count;
    f.used_days += day - f.last_day;
  }
  f.last_day = day;
  f.last_count = count;
  return f;
}

Forecast forecast(const UsageFigures& f, std::int64_t count, std::int64_t as_of_day) {
  Forecast out;
  // Days since the last change without one: no use (a count at 0 stays
  // out, which says nothing about use).
  const std::int64_t idle = count > 0 && as_of_day > f.last_day ? as_of_day - f.last_day : 0;
  const std::int64_t days = f.used_days + idle;
  if (days <= 0) return out;
  const double rate = static_cast<double>(f.used) / static_cast<double>(days);
  out.daily_use = rate;
  if (rate <= 0.0) return out;
  const double cover = static_cast<double>(count) / rate;
  out.days_of_cover = cover;
  const std::int64_t from = as_of_day > f.last_day ? as_of_day : f.last_day;
  out.runs_out_on = from + static_cast<std::int64_t>(std::floor(cover));
  return out;
}

std::int64_t warn_horizon_days(int warn_days_ahead, std::optional<std::int64_t> gap_days) {
  const std::int64_t gap = gap_days && *gap_days > 0 ? *gap_days : 0;
  return warn_days_ahead + gap;
}

bool runs_out_within(const Forecast& f, std::int64_t day, std::int64_t horizon_days) {
  return f.runs_out_on && f.days_of_cover && *f.runs_out_on - day <= horizon_days;
}

namespace {
double keep(std::optional<double> daily_use, std::int64_t minimum, int keep_days) {
  return static_cast<double>(minimum) + daily_use.value_or(0.0) * keep_days;
}
}  // namespace

std::int64_t transferable(std::int64_t count, std::optional<double> daily_use,
                          std::int64_t minimum, int keep_days) {
  if (!daily_use) return 0;  // unknown use: cannot say what it can spare
  const double spare = static_cast<double>(count) - keep(daily_use, minimum, keep_days);
  return spare >= 1.0 ? static_cast<std::int64_t>(std::floor(spare)) : 0;
}

std::int64_t transfer_need(std::int64_t count, std::optional<double> daily_use,
                           std::int64_t minimum, int keep_days) {
  const double need = keep(daily_use, minimum, keep_days) - static_cast<double>(count);
  if (need <= 0.0) return count == 0 ? 1 : 0;
  return static_cast<std::int64_t>(std::ceil(need));
}

// Howard Hinnant's days_from_civil / civil_from_days.
std::int64_t day_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

CivilDate civil_from_day(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int>(y + (m <= 2)), m, d};
}

std::string iso_day(std::int64_t day) {
  const CivilDate c = civil_from_day(day);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", c.year, c.month, c.day);
  return buf;
}

std::int64_t day_of_unix_ms(std::int64_t ms) {
  constexpr std::int64_t kDayMs = 86'400'000;
  return ms >= 0 ? ms / kDayMs : -((-ms + kDayMs - 1) / kDayMs);
}

unsigned last_day_of_month(int year, unsigned month) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2) {
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return leap ? 29 : 28;
  }
  return kDays[(month - 1) % 12];
}

}  // namespace stockwatch
