// A monthly time, as `[templates] send` writes it: "monthly 1 07:00", a day
// of the month and a time of day, at a fixed offset from UTC ("+07:00").
//
// Contract:
// - parse_monthly() accepts "monthly D HH:MM" (D from 1 to 28, so every
//   month has it; HH:MM from 00:00 to 23:59; spaces between the parts),
//   parse_utc_offset() "+HH:MM" or "-HH:MM" (up to 14 hours); anything else
//   is kInvalidInput with a message that says what to write.
// - latest_at_or_before(t) is the last occurrence at or before t;
//   next_after(t) the first one after t. Whole minutes; the offset never
//   changes (no daylight saving time).
// - A plain value: copy it freely, use it from any thread.
#pragma once

#include <string>
#include <string_view>

#include "base/clock.hpp"
#include "base/result.hpp"

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

[[nodiscard]] Result<MonthlySchedule> parse_monthly(std::string_view text,
                                                    int offset_minutes = 0);
// "+07:00" -> 420 minutes.
[[nodiscard]] Result<int> parse_utc_offset(std::string_view text);

}  // namespace stockwatch
