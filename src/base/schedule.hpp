// Recurring times: a monthly time, as `[templates] send` writes it:
// "monthly 1 07:00", a day of the month and a time of day, at a fixed
// offset from UTC ("+07:00"); and the general form a digest uses
// (Recurrence): "daily 07:00", "weekly mon 07:00" or "monthly 1 07:00" in a
// time zone with its daylight-saving rules (base/time_zone.hpp).
//
// Contract:
// - parse_monthly() accepts "monthly D HH:MM" (D from 1 to 28, so every
//   month has it; HH:MM from 00:00 to 23:59; spaces between the parts),
//   parse_utc_offset() "+HH:MM" or "-HH:MM" (up to 14 hours); anything else
//   is kInvalidInput with a message that says what to write.
// - latest_at_or_before(t) is the last occurrence at or before t;
//   next_after(t) the first one after t. Whole minutes; the offset never
//   changes (no daylight saving time).
// - parse_recurrence() accepts "daily HH:MM", "weekly DAY HH:MM" (DAY: mon,
//   tue, wed, thu, fri, sat, sun) and "monthly D HH:MM"; its
//   latest_at_or_before()/next_after() are those of the wall clock in its
//   zone: on a day when clocks go forward over the time it falls later by
//   the gap, on a day when they go back over it, it happens once (the first
//   time). MonthlySchedule is a Recurrence in a fixed zone.
// - A plain value: copy it freely, use it from any thread.
#pragma once

#include <string>
#include <string_view>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "base/time_zone.hpp"

namespace stockwatch {

class MonthlySchedule {
 public:
  [[nodiscard]] TimePoint latest_at_or_before(TimePoint t) const;
  [[nodiscard]] TimePoint next_after(TimePoint t) const;
  // "monthly 1 07:00 +07:00": the schedule written out in one form.
  [[nodiscard]] std::string to_string() const;

  int day = 1;               // of the month, 1..28
  int minute_of_day = 0;     // 0..1439
  int offset_minutes = 0;    // local time = UTC + offset
};

// A local time that recurs every day, week or month in a time zone.
struct Recurrence {
  enum class Every { kDay, kWeek, kMonth };

  [[nodiscard]] TimePoint latest_at_or_before(TimePoint t) const;
  [[nodiscard]] TimePoint next_after(TimePoint t) const;
  // The occurrence before `at` (an occurrence): the start of its period.
  [[nodiscard]] TimePoint previous(TimePoint at) const;
  // "weekly mon 07:00 Asia/Jakarta".
  [[nodiscard]] std::string to_string() const;

  Every every = Every::kDay;
  int weekday = 1;          // weekly: 0 = Sunday .. 6 = Saturday
  int day = 1;              // monthly: 1..28
  int minute_of_day = 0;    // 0..1440 (1440: midnight at the end of the day)
  TimeZone zone;
};

[[nodiscard]] Result<Recurrence> parse_recurrence(std::string_view text, const TimeZone& zone);

[[nodiscard]] Result<MonthlySchedule> parse_monthly(std::string_view text,
                                                    int offset_minutes = 0);
// "+07:00" -> 420 minutes.
[[nodiscard]] Result<int> parse_utc_offset(std::string_view text);

}  // namespace stockwatch
