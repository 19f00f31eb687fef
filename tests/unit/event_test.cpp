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

TEST(EventNames, EveryKindHasAStableNameThatReadsBack) {
  EXPECT_EQ(event_name(EventKind::kOutOfStock), "out_of_stock");
  EXPECT_EQ(event_name(EventKind::kBackInStock), "back_in_stock");
  EXPECT_EQ(event_name(EventKind::kReportRejected), "report_rejected");
  EXPECT_EQ(event_name(EventKind::kReportMissing), "report_missing");
  EXPECT_EQ(event_name(EventKind::kDigest), "digest");
  for (const EventKind e : kEventKinds) EXPECT_EQ(event_from_name(event_name(e)), e);
  EXPECT_EQ(event_from_name("low_stock"), std::nullopt);
  EXPECT_EQ(event_from_name(""), std::nullopt);
  EXPECT_EQ(event_names_listed(),
            "out_of_stock, back_in_stock, report_rejected, report_missing or digest");
}

}  // namespace
}  // namespace stockwatch
