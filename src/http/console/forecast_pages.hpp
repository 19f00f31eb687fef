// The console's forecast views: an item's page (its history chart, drawn
// on the server as SVG, with the predicted run-out date), and the
// overview's "running out soon" and "suggested transfers" lists.
//
// Contract:
// - Pure functions over data the console's worker read (Storage use rates,
//   pipeline/usage.hpp); every value escaped (html.hpp), texts from the
//   catalog. The chart is inline SVG markup: no script, no style attribute
//   (the Content-Security-Policy allows neither); its colours come from
//   the style sheet's classes (forecast_style()).
// - Any thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "http/console/pages.hpp"
#include "pipeline/forecast_stage.hpp"
#include "pipeline/usage.hpp"

namespace stockwatch::console {

struct ItemView {
  std::string store;
  std::string item;
  std::optional<std::int64_t> count;        // nullopt: no such item in the store
  std::optional<UsageRow> usage;
  Forecast forecast;
  std::vector<HistoryPoint> history;        // oldest first
  std::optional<TransferSuggestion> transfer;
};
[[nodiscard]] Markup item_page(const View& v, const ItemView& d);
// The chart alone (for tests): the count at each point, each point a link to
// its report, and a dashed line from the last point to the predicted day.
[[nodiscard]] Markup history_chart(const View& v, const ItemView& d);

// The link to an item's page.
[[nodiscard]] std::string item_href(std::string_view store, std::string_view item);

// "12.5" / "12,5": a daily use or days of cover as the language writes it;
// "-" when unknown.
[[nodiscard]] std::string format_decimal(std::optional<double> x, std::string_view language);

struct ForecastOverview {
  std::vector<UsageRow> running_out;          // fewest days of cover first
  std::vector<TransferSuggestion> transfers;
  int warn_days = 14;
};
[[nodiscard]] Markup forecast_overview(const View& v, const ForecastOverview& d);

// Extra rules for the console's style sheet.
[[nodiscard]] std::string_view forecast_style();

}  // namespace stockwatch::console
