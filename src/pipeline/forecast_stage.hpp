// The forecast stage: takes each loaded report into the use rates, queues
// its running_out alerts, and suggests transfers between stores.
//
// Contract:
// - process_forecasts() takes in every loaded report after the durable
//   cursor "usage", in commit order (Storage::next_usage_report), each in
//   one write transaction (Storage::take_in_usage): the history and running
//   figures, the report's running_out messages and the cursor. A crash
//   repeats nothing and loses nothing; Message-IDs come from (report, item,
//   recipient), so a repeated step cannot queue a message twice.
// - running_out: an item the report changed, still in stock, whose
//   predicted run-out date (pipeline/usage.hpp) is at most
//   warn_horizon_days() after the report's day: [alerts] warn_days_ahead
//   plus the days until the store's next expected report. Once per item
//   per report; none for a report older than the store's latest (its day
//   is not the item's last day), nor for reports loaded before use rates
//   existed. Recipients are chosen as for every other event
//   ([[alerts.subscription]] events and stores); group = "report" gives
//   one message per recipient listing the first Checker::kMaxListed items,
//   group = "item" one per item.
// - The checker calls process_forecasts() after the change feed, on the
//   same thread and Storage. A report that is the next to take in, and
//   whose check queued nothing or is small (at most Checker::kPageSize
//   change records), is taken in by the checker itself, with
//   take_in_report(), in the transaction that queues its stock alerts and
//   moves its cursor "changes": one commit instead of two, and its take-in
//   comes before the next report's stock alerts, as it does when reports
//   are loaded one at a time. A larger report's alerts are committed
//   first, so that its take-in never delays them. Blocking (database):
//   never on the event loop.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "config/config.hpp"
#include "pipeline/minimum_levels.hpp"
#include "store/storage.hpp"

namespace stockwatch {

struct ForecastTotals {
  std::int64_t reports = 0;       // reports taken in
  std::int64_t running_out = 0;   // items found running out
  std::int64_t messages = 0;      // messages queued
};

// Takes in everything pending; see the contract above.
[[nodiscard]] Result<ForecastTotals> process_forecasts(Storage& storage, const Clock& clock,
                                                       const AlertsConfig& config);

// Takes in one report, `r`: the next one after the cursor "usage"
// (Storage::next_usage_report), as process_forecasts() takes in each. With
// `check_through` > 0, the checker's step for report `r` shares the
// take-in's transaction (Storage::commit_check_with_take_in): its
// `check_messages` are queued and its cursor "changes" moves there, in one
// commit with the take-in.
[[nodiscard]] Result<ForecastTotals> take_in_report(
    Storage& storage, const Clock& clock, const AlertsConfig& config, const UsageReport& r,
    std::int64_t check_through = 0, const std::vector<OutboxMessage>& check_messages = {});

// A suggested transfer to a store short of an item.
struct TransferSuggestion {
  std::string to;             // the store short of the item
  std::string item;
  std::string from;           // the store that can spare it
  std::int64_t quantity = 0;  // how much to move
  std::int64_t to_count = 0;  // what each has now
  std::int64_t from_count = 0;
};

// The best transfer for `store` and `item` (count `count`): from the store
// that can spare the most while it keeps its minimum plus `keep_days` days
// of its own use (a store whose use is unknown is not asked), a quantity
// that brings `store` to its minimum plus `keep_days` days of its use, or
// as much as the other can spare. nullopt: nobody can spare any, or
// `store` is not short.
// The minimum levels are `levels` (read once by a caller that asks for
// many items); the overload without them reads the levels file in force
// (Storage::levels) once, with `default_minimum` where no line matches, and
// takes 0 for every item when it cannot be read (a transfer is a
// suggestion, never a reason to fail).
[[nodiscard]] Result<std::optional<TransferSuggestion>> suggest_transfer(
    Storage& storage, const MinimumLevels& levels, std::string_view store, std::string_view item,
    std::int64_t count, int keep_days);
[[nodiscard]] Result<std::optional<TransferSuggestion>> suggest_transfer(
    Storage& storage, std::string_view store, std::string_view item, std::int64_t count,
    int keep_days, std::int64_t default_minimum = 0);

// The minimum levels in force for transfer suggestions: the levels file
// with `default_minimum`; every minimum 0 when it cannot be read.
[[nodiscard]] MinimumLevels transfer_levels(Storage& storage, std::int64_t default_minimum);

}  // namespace stockwatch
