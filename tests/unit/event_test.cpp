// Alert events: the one rule that says which change of a count raises an
// event, and the one table of their names.
#include "pipeline/event.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace stockwatch {
namespace {

constexpr std::optional<std::int64_t> kNew = std::nullopt;

TEST(StockEvent, ACountReachingZeroIsOutOfStock) {
  EXPECT_EQ(stock_event(5, 0), EventKind::kOutOfStock);
  EXPECT_EQ(stock_event(1, 0), EventKind::kOutOfStock);
  EXPECT_EQ(stock_event(kNew, 0), EventKind::kOutOfStock);  // a new item at 0
}

TEST(StockEvent, ACountLeavingZeroIsBackInStock) {
  EXPECT_EQ(stock_event(0, 1), EventKind::kBackInStock);
  EXPECT_EQ(stock_event(0, 12), EventKind::kBackInStock);
}

TEST(StockEvent, OtherChangesRaiseNothing) {
  EXPECT_EQ(stock_event(5, 3), std::nullopt);
  EXPECT_EQ(stock_event(3, 5), std::nullopt);
  EXPECT_EQ(stock_event(kNew, 7), std::nullopt);  // a new item in stock
  EXPECT_EQ(stock_event(0, 0), std::nullopt);     // still 0: no second alert
}

TEST(StockEvent, BackInStockWithAMinimumNeedsTheMinimum) {
  EXPECT_EQ(stock_event(0, 4, 5), std::nullopt);
  EXPECT_EQ(stock_event(0, 5, 5), EventKind::kBackInStock);  // equal to the minimum
  EXPECT_EQ(stock_event(0, 9, 5), EventKind::kBackInStock);
  EXPECT_EQ(stock_event(8, 0, 5), EventKind::kOutOfStock);
}

TEST(StockEvent, DroppingBelowTheMinimumIsLowStock) {
  EXPECT_EQ(stock_event(10, 4, 5), EventKind::kLowStock);
  EXPECT_EQ(stock_event(5, 4, 5), EventKind::kLowStock);   // from exactly the minimum
  EXPECT_EQ(stock_event(10, 1, 5), EventKind::kLowStock);  // 1 is above 0
  EXPECT_EQ(stock_event(kNew, 3, 5), EventKind::kLowStock);  // a new item below it
}

TEST(StockEvent, TheMinimumItselfIsNotLow) {
  EXPECT_EQ(stock_event(10, 5, 5), std::nullopt);
  EXPECT_EQ(stock_event(kNew, 5, 5), std::nullopt);
}

TEST(StockEvent, StayingBelowTheMinimumRaisesNothingAgain) {
  EXPECT_EQ(stock_event(4, 3, 5), std::nullopt);
  EXPECT_EQ(stock_event(3, 4, 5), std::nullopt);
  EXPECT_EQ(stock_event(0, 3, 5), std::nullopt);  // out to low: still below
}

TEST(StockEvent, ZeroWinsOverLow) {
  EXPECT_EQ(stock_event(4, 0, 5), EventKind::kOutOfStock);
  EXPECT_EQ(stock_event(kNew, 0, 5), EventKind::kOutOfStock);
}

TEST(StockEvent, BackAboveTheMinimumFromLowIsBackInStock) {
  EXPECT_EQ(stock_event(3, 5, 5), EventKind::kBackInStock);
  EXPECT_EQ(stock_event(3, 9, 5), EventKind::kBackInStock);
}

TEST(StockEvent, ANewMinimumJudgesTheSameCount) {
  // stock_event(count, count, new minimum, old minimum): a levels file.
  EXPECT_EQ(stock_event(4, 4, 5, 0), EventKind::kLowStock);
  EXPECT_EQ(stock_event(4, 4, 3, 5), EventKind::kBackInStock);
  EXPECT_EQ(stock_event(5, 5, 5, 0), std::nullopt);  // equal: not low
  EXPECT_EQ(stock_event(0, 0, 5, 0), std::nullopt);  // out stays out
  EXPECT_EQ(stock_event(4, 4, 6, 5), std::nullopt);  // low stays low
}

TEST(EventNames, EveryKindHasAStableNameThatReadsBack) {
  EXPECT_EQ(event_name(EventKind::kOutOfStock), "out_of_stock");
  EXPECT_EQ(event_name(EventKind::kBackInStock), "back_in_stock");
  EXPECT_EQ(event_name(EventKind::kReportRejected), "report_rejected");
  EXPECT_EQ(event_name(EventKind::kReportMissing), "report_missing");
  EXPECT_EQ(event_name(EventKind::kDigest), "digest");
  for (const EventKind e : kEventKinds) EXPECT_EQ(event_from_name(event_name(e)), e);
  EXPECT_EQ(event_name(EventKind::kLowStock), "low_stock");
  EXPECT_EQ(event_name(EventKind::kStillOut), "still_out");
  EXPECT_EQ(event_from_name("low"), std::nullopt);
  EXPECT_EQ(event_from_name(""), std::nullopt);
  EXPECT_EQ(event_names_listed(),
            "out_of_stock, back_in_stock, report_rejected, low_stock, still_out, report_missing, "
            "digest or running_out");
}

}  // namespace
}  // namespace stockwatch
