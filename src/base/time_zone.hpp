// A time zone with its daylight-saving rules, read from the system's
// time-zone database (the TZif files of Debian's tzdata under
// /usr/share/zoneinfo, RFC 8536), or a fixed offset from UTC.
//
// Why our own reader: the C++20 time-zone database (std::chrono::zoned_time)
// is not in GCC 12's library, Boost.DateTime reads only its own CSV of
// zones, and the C library's localtime_r/mktime know one zone per process
// (the TZ variable, which the console sets). A TZif file is a short table of
// transitions plus a POSIX TZ rule for the years after it, simple to read.
//
// Contract:
// - load() takes an IANA name ("Asia/Jakarta"), a fixed offset ("+07:00"),
//   or "" for the system's zone: the TZ environment variable the process
//   started with, when it names a zone, else /etc/localtime, else UTC. A name that is not a zone of this
//   system, or a file that is not a valid TZif file, is kInvalidInput with a
//   message that says what to write. Nothing is cached; load once at start
//   (and at reload) and keep the value.
// - offset_at(t): the zone's offset from UTC at the instant t.
//   to_local(t): the wall-clock time at t, as a sys_seconds (the local date
//   and time written as if it were UTC).
// - from_local(local): the instant a wall-clock time names. A time that
//   happens twice (clocks go back) is its first occurrence; a time that
//   never happens (clocks go forward over it) is moved forward by the gap,
//   as the clock on the wall would show it (02:30 in a gap of one hour
//   from 02:00 is 03:30).
// - A plain value sharing immutable data: copy it freely, use it from any
//   thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/clock.hpp"
#include "base/result.hpp"

namespace stockwatch {

class TimeZone {
 public:
  // UTC.
  TimeZone();

  [[nodiscard]] static Result<TimeZone> load(std::string_view name);
  // The zone a TZif file's bytes describe, shown as `name`.
  [[nodiscard]] static Result<TimeZone> from_tzif(std::string_view bytes, std::string name);
  // The zone of a POSIX TZ string ("WIB-7", "CET-1CEST,M3.5.0,M10.5.0/3").
  [[nodiscard]] static Result<TimeZone> from_posix(std::string_view rule, std::string name);
  [[nodiscard]] static TimeZone fixed(int offset_minutes);

  [[nodiscard]] std::chrono::seconds offset_at(TimePoint t) const;
  [[nodiscard]] std::chrono::sys_seconds to_local(TimePoint t) const;
  [[nodiscard]] TimePoint from_local(std::chrono::sys_seconds local) const;
  // "Asia/Jakarta", "+07:00", "UTC".
  [[nodiscard]] const std::string& name() const;

  struct Data;

 private:
  explicit TimeZone(std::shared_ptr<const Data> d) : d_(std::move(d)) {}
  std::shared_ptr<const Data> d_;
};

}  // namespace stockwatch
