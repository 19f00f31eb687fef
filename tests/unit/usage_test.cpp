// Use rates, days of cover and run-out dates on series with known answers
// (pipeline/usage.hpp), and report dates from file and folder names
// (report/report_date.hpp).
#include "pipeline/usage.hpp"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "report/report_date.hpp"

namespace stockwatch {
namespace {

// The figures after a series of (day, count) reports, each taken in as the
// backends do: only reports that change the count.
UsageFigures series(const std::vector<std::pair<std::int64_t, std::int64_t>>& points) {
  std::optional<UsageFigures> f;
  for (const auto& [day, count] : points) {
    if (f && f->last_count == count && day >= f->last_day) continue;  // no change record
    f = observe(f, day, count);
  }
  return *f;
}

constexpr std::int64_t kJan = 20454;  // 2026-01-01

TEST(Usage, SteadyUseGivesItsRateCoverAndDate) {
  // 10 a day, a report every 30 days.
  const auto f = series({{kJan, 1000}, {kJan + 30, 700}, {kJan + 60, 400}, {kJan + 90, 100}});
  const Forecast out = forecast(f, 100, kJan + 90);
  ASSERT_TRUE(out.daily_use);
  EXPECT_DOUBLE_EQ(*out.daily_use, 10.0);
  EXPECT_DOUBLE_EQ(*out.days_of_cover, 10.0);
  EXPECT_EQ(*out.runs_out_on, kJan + 100);
}

TEST(Usage, ADeliveryBetweenReportsIsNotNegativeUse) {
  // 5 a day; between day 30 and 60 a delivery of 500 arrived.
  const auto f = series({{kJan, 300}, {kJan + 30, 150}, {kJan + 60, 500}, {kJan + 90, 350}});
  const Forecast out = forecast(f, 350, kJan + 90);
  EXPECT_DOUBLE_EQ(*out.daily_use, 5.0);  // the delivery interval is left out
  EXPECT_DOUBLE_EQ(*out.days_of_cover, 70.0);
  EXPECT_EQ(f.used_days, 60);
}

TEST(Usage, IrregularIntervalsWeighByDays) {
  // 4 a day over intervals of 7, 45 and 20 days.
  const auto f = series({{kJan, 1000}, {kJan + 7, 972}, {kJan + 52, 792}, {kJan + 72, 712}});
  const Forecast out = forecast(f, 712, kJan + 72);
  EXPECT_DOUBLE_EQ(*out.daily_use, 4.0);
  EXPECT_EQ(*out.runs_out_on, kJan + 72 + 178);
}

TEST(Usage, OneReportIsNotEnoughHistory) {
  const auto f = series({{kJan, 80}});
  const Forecast out = forecast(f, 80, kJan);
  EXPECT_FALSE(out.daily_use);
  EXPECT_FALSE(out.days_of_cover);
  EXPECT_FALSE(out.runs_out_on);
}

TEST(Usage, AnItemThatNeverMovesHasNoUseAndNeverRunsOut) {
  const auto f = series({{kJan, 80}, {kJan + 30, 80}, {kJan + 60, 80}});
  const Forecast out = forecast(f, 80, kJan + 60);  // the store's latest report
  ASSERT_TRUE(out.daily_use);
  EXPECT_DOUBLE_EQ(*out.daily_use, 0.0);
  EXPECT_FALSE(out.days_of_cover);
  EXPECT_FALSE(out.runs_out_on);
}

TEST(Usage, ACountThatRisesEveryMonthIsNotEnoughHistory) {
  const auto f = series({{kJan, 10}, {kJan + 31, 20}, {kJan + 59, 30}, {kJan + 90, 40}});
  const Forecast out = forecast(f, 40, kJan + 90);
  EXPECT_FALSE(out.daily_use);
  EXPECT_FALSE(out.runs_out_on);
}

TEST(Usage, DaysWithoutAChangeUpToTheStoresLatestReportSlowTheRate) {
  // 60 used over the first 30 days, then nothing for 30 more.
  const auto f = series({{kJan, 100}, {kJan + 30, 40}, {kJan + 60, 40}});
  const Forecast out = forecast(f, 40, kJan + 60);
  EXPECT_DOUBLE_EQ(*out.daily_use, 1.0);
  EXPECT_EQ(*out.runs_out_on, kJan + 100);
}

TEST(Usage, AFallToZeroIsLeftOutAndAnOlderReportChangesNothing) {
  auto f = series({{kJan, 100}, {kJan + 30, 70}, {kJan + 60, 0}});
  EXPECT_EQ(f.used, 30);
  EXPECT_EQ(f.used_days, 30);
  const auto g = observe(f, kJan + 10, 95);  // a report from before
  EXPECT_EQ(g.last_day, f.last_day);
  EXPECT_EQ(g.last_count, f.last_count);
  EXPECT_EQ(g.used, f.used);
}

TEST(Usage, TheWarningHorizonAddsTheWaitForTheNextReport) {
  EXPECT_EQ(warn_horizon_days(14, std::nullopt), 14);
  EXPECT_EQ(warn_horizon_days(14, 30), 44);
  Forecast f;
  f.days_of_cover = 40;
  f.runs_out_on = kJan + 40;
  EXPECT_TRUE(runs_out_within(f, kJan, 44));
  EXPECT_FALSE(runs_out_within(f, kJan, 14));
}

TEST(Usage, TransfersLeaveTheGiverItsMinimumAndKeepDays) {
  // 2 a day, minimum 10, 30 days kept: 70 stays, 130 can go.
  EXPECT_EQ(transferable(200, 2.0, 10, 30), 130);
  EXPECT_EQ(transferable(60, 2.0, 10, 30), 0);
  EXPECT_EQ(transferable(500, std::nullopt, 0, 30), 0);
  // A store at 0 using 3 a day needs 90 for 30 days.
  EXPECT_EQ(transfer_need(0, 3.0, 0, 30), 90);
  EXPECT_EQ(transfer_need(0, std::nullopt, 0, 30), 1);
  EXPECT_EQ(transfer_need(500, 3.0, 0, 30), 0);
}

TEST(Usage, CalendarDays) {
  EXPECT_EQ(day_from_civil(1970, 1, 1), 0);
  EXPECT_EQ(iso_day(day_from_civil(2026, 11, 30)), "2026-11-30");
  EXPECT_EQ(iso_day(day_from_civil(2024, 2, 29)), "2024-02-29");
  EXPECT_EQ(day_of_unix_ms(86'400'000LL * 3 + 5), 3);
}

TEST(ReportDate, FromFileAndFolderNames) {
  const auto day = [](int y, unsigned m, unsigned d) { return day_from_civil(y, m, d); };
  EXPECT_EQ(report_day_from_name("medan/2026-11.csv"), day(2026, 11, 30));
  EXPECT_EQ(report_day_from_name("stok-2026-11-30.xlsx"), day(2026, 11, 30));
  EXPECT_EQ(report_day_from_name("2026/11/medan.csv"), day(2026, 11, 30));
  EXPECT_EQ(report_day_from_name("2026/02/medan.csv"), day(2026, 2, 28));
  EXPECT_EQ(report_day_from_name("2026/11/15/medan.csv"), day(2026, 11, 15));
  EXPECT_EQ(report_day_from_name("medan_20261105.csv"), day(2026, 11, 5));
  EXPECT_EQ(report_day_from_name("2025/medan-2026-01.csv"), day(2026, 1, 31));
  EXPECT_FALSE(report_day_from_name("medan.csv"));
  EXPECT_FALSE(report_day_from_name("store-1234-56.csv"));
  EXPECT_FALSE(report_day_from_name("2026-13.csv"));
}

TEST(ReportDate, FromADateCell) {
  EXPECT_EQ(parse_report_day("2026-11-30"), day_from_civil(2026, 11, 30));
  EXPECT_EQ(parse_report_day(" 30/11/2026 "), day_from_civil(2026, 11, 30));
  EXPECT_EQ(parse_report_day("2026-11"), day_from_civil(2026, 11, 30));
  EXPECT_EQ(parse_report_day("2026-11-30T08:00:00Z"), day_from_civil(2026, 11, 30));
  EXPECT_FALSE(parse_report_day("yesterday"));
  EXPECT_FALSE(parse_report_day("2026-02-30"));
}

}  // namespace
}  // namespace stockwatch
