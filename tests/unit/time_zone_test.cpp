// Time zones read from the system's database (TZif files, RFC 8536) and the
// recurring local times built on them: offsets checked against the C
// library's own reading of the same files over a century, daylight-saving
// gaps and overlaps, POSIX rules past the table, bad names and bad files;
// "daily", "weekly" and "monthly" times in a zone without daylight saving
// (Asia/Jakarta) and one with it (Europe/Berlin).
#include "base/time_zone.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>

#include "base/schedule.hpp"

namespace stockwatch {
namespace {

using namespace std::chrono_literals;

TimePoint utc(int y, unsigned m, unsigned d, int h = 0, int min = 0) {
  using namespace std::chrono;
  return TimePoint(sys_days(year(y) / month(m) / day(d))) + hours(h) + minutes(min);
}

std::chrono::sys_seconds local(int y, unsigned m, unsigned d, int h = 0, int min = 0) {
  return std::chrono::floor<std::chrono::seconds>(utc(y, m, d, h, min));
}

TimeZone zone(std::string_view name) {
  auto z = TimeZone::load(name);
  EXPECT_TRUE(z.ok()) << (z.ok() ? "" : z.error().message());
  return z.ok() ? *z : TimeZone();
}

// The C library reads the same files; for every zone and a time every
// ~31 hours from 1950 to 2080 the offsets agree (past the table's last
// year both follow the file's POSIX rule).
TEST(TimeZone, AgreesWithTheCLibraryOverACentury) {
  const char* zones[] = {"Asia/Jakarta",     "Asia/Makassar",   "Europe/Berlin",  "America/New_York",
                         "Australia/Sydney", "Pacific/Chatham", "Asia/Tehran",    "Europe/Dublin",
                         "America/Sao_Paulo", "Africa/Casablanca", "Pacific/Apia", "America/Godthab"};
  const char* saved = std::getenv("TZ");
  const std::string old = saved ? saved : "";
  for (const char* name : zones) {
    const TimeZone z = zone(name);
    ::setenv("TZ", name, 1);
    ::tzset();
    int checked = 0;
    for (std::int64_t s = -631152000; s < 3471292800; s += 31 * 3600 + 17) {
      const std::time_t tt = static_cast<std::time_t>(s);
      std::tm tm{};
      ::localtime_r(&tt, &tm);
      const TimePoint t{std::chrono::seconds(s)};
      ASSERT_EQ(z.offset_at(t).count(), tm.tm_gmtoff) << name << " at " << s;
      ++checked;
    }
    EXPECT_GT(checked, 30000);
  }
  if (saved) ::setenv("TZ", old.c_str(), 1);
  else ::unsetenv("TZ");
  ::tzset();
}

TEST(TimeZone, JakartaIsSevenHoursAheadAllYear) {
  const TimeZone z = zone("Asia/Jakarta");
  EXPECT_EQ(z.name(), "Asia/Jakarta");
  EXPECT_EQ(z.offset_at(utc(2026, 1, 15)), 7h);
  EXPECT_EQ(z.offset_at(utc(2026, 7, 15)), 7h);
  EXPECT_EQ(z.offset_at(utc(2090, 7, 15)), 7h);
  EXPECT_EQ(z.from_local(local(2026, 12, 1, 7)), utc(2026, 12, 1, 0));
}

TEST(TimeZone, BerlinChangesAtOneInTheMorningUtc) {
  const TimeZone z = zone("Europe/Berlin");
  EXPECT_EQ(z.offset_at(utc(2025, 3, 30, 0, 59)), 1h);
  EXPECT_EQ(z.offset_at(utc(2025, 3, 30, 1, 0)), 2h);
  EXPECT_EQ(z.offset_at(utc(2025, 10, 26, 0, 59)), 2h);
  EXPECT_EQ(z.offset_at(utc(2025, 10, 26, 1, 0)), 1h);
  // Past the table: the POSIX rule.
  EXPECT_EQ(z.offset_at(utc(2100, 3, 28, 0, 59)), 1h);
  EXPECT_EQ(z.offset_at(utc(2100, 3, 28, 1, 0)), 2h);
}

TEST(TimeZone, ATimeInTheGapMovesForwardAndARepeatedTimeIsItsFirst) {
  const TimeZone z = zone("Europe/Berlin");
  // 02:30 never happens on 30 March 2025: it reads as 03:30 CEST.
  EXPECT_EQ(z.from_local(local(2025, 3, 30, 2, 30)), utc(2025, 3, 30, 1, 30));
  // 02:30 happens twice on 26 October 2025: the first, in CEST.
  EXPECT_EQ(z.from_local(local(2025, 10, 26, 2, 30)), utc(2025, 10, 26, 0, 30));
  EXPECT_EQ(z.from_local(local(2025, 10, 26, 3, 30)), utc(2025, 10, 26, 2, 30));
  // New York: behind UTC.
  const TimeZone ny = zone("America/New_York");
  EXPECT_EQ(ny.from_local(local(2025, 3, 9, 2, 30)), utc(2025, 3, 9, 7, 30));
  EXPECT_EQ(ny.from_local(local(2025, 11, 2, 1, 30)), utc(2025, 11, 2, 5, 30));
}

TEST(TimeZone, PosixRulesOfBothHemispheres) {
  auto cet = TimeZone::from_posix("CET-1CEST,M3.5.0,M10.5.0/3", "cet");
  ASSERT_TRUE(cet.ok());
  EXPECT_EQ(cet->offset_at(utc(2031, 3, 30, 0, 59)), 1h);
  EXPECT_EQ(cet->offset_at(utc(2031, 3, 30, 1, 0)), 2h);
  EXPECT_EQ(cet->offset_at(utc(2031, 10, 26, 0, 59)), 2h);
  EXPECT_EQ(cet->offset_at(utc(2031, 10, 26, 1, 0)), 1h);
  auto syd = TimeZone::from_posix("AEST-10AEDT,M10.1.0,M4.1.0/3", "syd");
  ASSERT_TRUE(syd.ok());
  EXPECT_EQ(syd->offset_at(utc(2031, 1, 15)), 11h);
  EXPECT_EQ(syd->offset_at(utc(2031, 7, 15)), 10h);
  auto wib = TimeZone::from_posix("WIB-7", "wib");
  ASSERT_TRUE(wib.ok());
  EXPECT_EQ(wib->offset_at(utc(2031, 7, 15)), 7h);
  auto odd = TimeZone::from_posix("<+0330>-3:30", "tehran");
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ(odd->offset_at(utc(2031, 7, 15)), 3h + 30min);
  for (const char* bad : {"", "X-1", "CET-1CEST,M13.5.0,M10.5.0", "CET-1CEST,M3.5.0", "CET-200"}) {
    EXPECT_FALSE(TimeZone::from_posix(bad, "bad").ok()) << bad;
  }
}

TEST(TimeZone, OffsetsAndUtcByName) {
  EXPECT_EQ(zone("+07:00").offset_at(utc(2026, 1, 1)), 7h);
  EXPECT_EQ(zone("+07:00").name(), "+07:00");
  EXPECT_EQ(zone("-03:30").offset_at(utc(2026, 1, 1)), -(3h + 30min));
  EXPECT_EQ(zone("UTC").offset_at(utc(2026, 1, 1)), 0s);
}

TEST(TimeZone, TheSystemsZoneIsTheOneTheProcessStartedWith) {
  // TZ set later (serve sets it to [console] timezone) does not change it.
  const TimeZone before = zone("");
  const char* saved = std::getenv("TZ");
  const std::string old = saved ? saved : "";
  ::setenv("TZ", ":Asia/Jayapura", 1);
  EXPECT_EQ(zone("").name(), before.name());
  EXPECT_FALSE(before.name().empty());
  if (saved) ::setenv("TZ", old.c_str(), 1);
  else ::unsetenv("TZ");
}

TEST(TimeZone, BadNamesAndBadFilesAreRefusedWithAMessage) {
  for (const char* bad : {"Mars/Olympus_Mons", "../../etc/passwd", "/etc/passwd", "+25:00"}) {
    auto z = TimeZone::load(bad);
    ASSERT_FALSE(z.ok()) << bad;
    EXPECT_EQ(z.error().code(), ErrorCode::kInvalidInput);
    EXPECT_NE(z.error().message().find("\"+07:00\""), std::string::npos) << z.error().message();
  }
  std::ifstream in("/usr/share/zoneinfo/Europe/Berlin", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string good = ss.str();
  ASSERT_TRUE(TimeZone::from_tzif(good, "Europe/Berlin").ok());
  // Every cut-short copy is refused or read, never a crash.
  for (std::size_t n = 0; n < good.size(); n += 7) {
    auto z = TimeZone::from_tzif(std::string_view(good).substr(0, n), "cut");
    if (n < 44) EXPECT_FALSE(z.ok());
  }
  std::string garbled = good;
  garbled[0] = 'X';
  EXPECT_FALSE(TimeZone::from_tzif(garbled, "x").ok());
  // Counts far larger than the file.
  std::string huge = good;
  huge[20 + 12] = '\x7f';
  EXPECT_FALSE(TimeZone::from_tzif(huge, "x").ok());
}

Recurrence every(std::string_view text, std::string_view zone_name) {
  auto r = parse_recurrence(text, zone(zone_name));
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
  return r.ok() ? *r : Recurrence{};
}

TEST(Recurrence, DailyWeeklyMonthlyInJakarta) {
  const Recurrence d = every("daily 07:00", "Asia/Jakarta");
  EXPECT_EQ(d.latest_at_or_before(utc(2026, 12, 6, 0, 30)), utc(2026, 12, 6, 0));
  EXPECT_EQ(d.latest_at_or_before(utc(2026, 12, 6, 0, 0)), utc(2026, 12, 6, 0));
  EXPECT_EQ(d.latest_at_or_before(utc(2026, 12, 5, 23, 59)), utc(2026, 12, 5, 0));
  EXPECT_EQ(d.next_after(utc(2026, 12, 6, 0, 0)), utc(2026, 12, 7, 0));
  EXPECT_EQ(d.previous(utc(2026, 12, 6, 0)), utc(2026, 12, 5, 0));
  EXPECT_EQ(d.to_string(), "daily 07:00 Asia/Jakarta");
  // 6 December 2026 is a Sunday.
  const Recurrence w = every("weekly mon 07:00", "Asia/Jakarta");
  EXPECT_EQ(w.latest_at_or_before(utc(2026, 12, 6, 12)), utc(2026, 11, 30, 0));
  EXPECT_EQ(w.next_after(utc(2026, 12, 6, 12)), utc(2026, 12, 7, 0));
  EXPECT_EQ(w.latest_at_or_before(utc(2026, 12, 7, 0)), utc(2026, 12, 7, 0));
  EXPECT_EQ(w.to_string(), "weekly mon 07:00 Asia/Jakarta");
  // 01:00 WIB on a Monday is Sunday in UTC.
  const Recurrence early = every("weekly mon 01:00", "Asia/Jakarta");
  EXPECT_EQ(early.latest_at_or_before(utc(2026, 12, 6, 18, 30)), utc(2026, 12, 6, 18));
  EXPECT_EQ(early.latest_at_or_before(utc(2026, 12, 6, 17, 59)), utc(2026, 11, 29, 18));
  const Recurrence m = every("monthly 1 07:00", "Asia/Jakarta");
  EXPECT_EQ(m.latest_at_or_before(utc(2026, 12, 6)), utc(2026, 12, 1, 0));
  EXPECT_EQ(m.next_after(utc(2026, 12, 6)), utc(2027, 1, 1, 0));
  EXPECT_EQ(m.previous(utc(2027, 1, 1, 0)), utc(2026, 12, 1, 0));
  // 00:30 WIB on the 1st is still the month before in UTC.
  const Recurrence m2 = every("monthly 1 00:30", "Asia/Jakarta");
  EXPECT_EQ(m2.latest_at_or_before(utc(2026, 11, 30, 17, 45)), utc(2026, 11, 30, 17, 30));
}

TEST(Recurrence, DailyInBerlinAcrossBothChanges) {
  const Recurrence d = every("daily 07:00", "Europe/Berlin");
  // Winter 06:00 UTC, summer 05:00 UTC: the day of the change is 23 hours.
  EXPECT_EQ(d.next_after(utc(2025, 3, 29, 6)), utc(2025, 3, 30, 5));
  EXPECT_EQ(d.next_after(utc(2025, 10, 25, 5)), utc(2025, 10, 26, 6));
  // In the gap: 02:30 falls on 03:30 CEST, once.
  const Recurrence gap = every("daily 02:30", "Europe/Berlin");
  EXPECT_EQ(gap.next_after(utc(2025, 3, 29, 12)), utc(2025, 3, 30, 1, 30));
  EXPECT_EQ(gap.next_after(utc(2025, 3, 30, 1, 30)), utc(2025, 3, 31, 0, 30));
  // In the overlap: 02:30 happens once, the first time.
  EXPECT_EQ(gap.next_after(utc(2025, 10, 25, 12)), utc(2025, 10, 26, 0, 30));
  EXPECT_EQ(gap.next_after(utc(2025, 10, 26, 0, 30)), utc(2025, 10, 27, 1, 30));
  EXPECT_EQ(gap.latest_at_or_before(utc(2025, 10, 26, 1, 45)), utc(2025, 10, 26, 0, 30));
  // Stepping through a year of days: every occurrence once, in order.
  TimePoint t = utc(2025, 1, 1);
  int n = 0;
  for (TimePoint next = gap.next_after(t); next < utc(2026, 1, 1); next = gap.next_after(next)) {
    EXPECT_EQ(gap.latest_at_or_before(next), next);
    EXPECT_GT(next, t);
    t = next;
    ++n;
  }
  EXPECT_EQ(n, 365);
}

TEST(Recurrence, BadSchedulesSayWhatToWrite) {
  for (const char* bad : {"", "hourly", "daily", "daily 7", "daily 24:00", "weekly monday 07:00",
                          "weekly mon", "monthly 31 07:00", "monthly 1", "daily 07:00 extra"}) {
    auto r = parse_recurrence(bad, TimeZone());
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message().find("daily 07:00"), std::string::npos) << r.error().message();
  }
}

TEST(Recurrence, TheMonthlyTemplateTimeIsUnchanged) {
  auto s = parse_monthly("monthly 1 07:00", 420);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->latest_at_or_before(utc(2026, 12, 6)), utc(2026, 12, 1, 0));
  EXPECT_EQ(s->next_after(utc(2026, 12, 1, 0)), utc(2027, 1, 1, 0));
  EXPECT_EQ(s->to_string(), "monthly 1 07:00 +07:00");
}

}  // namespace
}  // namespace stockwatch
