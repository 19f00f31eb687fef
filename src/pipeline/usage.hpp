// Use rate, days of cover and the predicted run-out date of one item in one
// store, from the history of its counts (the reports' dates and counts).
//
// Contract:
// - A day is a whole number of days since 1970-01-01 (UTC); a report's
//   date is a day (ledger: reports.report_day).
// - UsageFigures are the running figures a backend keeps per store and
//   item (table `usage`), updated by observe() once per report that changed
//   the item's count, in date order: an older date changes nothing, the
//   same date only corrects the last count. The SQL of both backends does
//   exactly what observe() does (the storage contract test checks it).
// - The method (docs/alerts.md, "How the run-out date is predicted"):
//   between two reports, a count that fell is use (units fallen over the
//   days between); a count that rose had a delivery, so the use of that
//   interval is unknown and the interval is left out; a count that fell to
//   0 ran out somewhere in between, so that interval is left out as well
//   (its use is only known to be at least the fall). Days without a change
//   up to the store's latest report count as days without use.
//   daily use = units used / days counted. Not enough history (nothing to
//   go on): no interval counted yet.
// - Pure functions, no state: safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stockwatch {

struct UsageFigures {
  std::int64_t first_day = 0;   // the first report's day
  std::int64_t last_day = 0;    // the day of the last report that changed the count
  std::int64_t last_count = 0;  // the count it wrote
  std::int64_t used = 0;        // units used over the counted intervals
  std::int64_t used_days = 0;   // days of the counted intervals
};

// The figures after one more report on `day` with `count` (`before`:
// none yet, the item's first report).
[[nodiscard]] UsageFigures observe(const std::optional<UsageFigures>& before, std::int64_t day,
                                   std::int64_t count);

struct Forecast {
  std::optional<double> daily_use;        // nullopt: not enough history
  std::optional<double> days_of_cover;    // nullopt: unknown, or no use (never runs out)
  std::optional<std::int64_t> runs_out_on;  // a day; nullopt as days_of_cover
};

// The forecast for an item with figures `f` and current count `count`, as of
// `as_of_day` (the store's latest report; days after f.last_day without a
// change count as days without use).
[[nodiscard]] Forecast forecast(const UsageFigures& f, std::int64_t count, std::int64_t as_of_day);

// How many days ahead a running_out alert looks from a report: the warning
// time, plus the days until the store's next expected report (`gap_days`,
// the interval between its last two reports; nullopt or <= 0: unknown),
// because waiting for that report would leave less notice than asked for.
[[nodiscard]] std::int64_t warn_horizon_days(int warn_days_ahead,
                                             std::optional<std::int64_t> gap_days);

// Whether forecast `f` of a report on `day` is a running_out alert:
// it runs out (count > 0) within `horizon_days` days of `day`.
[[nodiscard]] bool runs_out_within(const Forecast& f, std::int64_t day, std::int64_t horizon_days);

// A suggested transfer: how much a store holding `count` with daily use
// `daily_use` and minimum `minimum` can give while it keeps `keep_days` of
// cover above its minimum; 0 when it cannot give any. `need` is what the
// receiving store lacks (its minimum plus keep_days of its own use, less its
// count), and the answer never exceeds it (at least 1 when it needs any).
[[nodiscard]] std::int64_t transferable(std::int64_t count, std::optional<double> daily_use,
                                        std::int64_t minimum, int keep_days);
[[nodiscard]] std::int64_t transfer_need(std::int64_t count, std::optional<double> daily_use,
                                         std::int64_t minimum, int keep_days);

// Calendar days: 2026-11-30 <-> day number.
[[nodiscard]] std::int64_t day_from_civil(int year, unsigned month, unsigned day);
struct CivilDate {
  int year = 1970;
  unsigned month = 1, day = 1;
};
[[nodiscard]] CivilDate civil_from_day(std::int64_t day);
// "2026-11-30".
[[nodiscard]] std::string iso_day(std::int64_t day);
// The day of Unix milliseconds `ms` (UTC).
[[nodiscard]] std::int64_t day_of_unix_ms(std::int64_t ms);
// The last day of a month.
[[nodiscard]] unsigned last_day_of_month(int year, unsigned month);

}  // namespace stockwatch
