// Alert events: the kinds, their names, and the one rule that says which
// change of a count is an event.
//
// Contract:
// - EventKind is the only list of alert events. Every name that appears in
//   the configuration ([[alerts.subscription]] events), the metrics
//   (stockwatch_alerts_total{event=...}), the events table (events.event) and
//   the outbox (outbox.event) comes from event_name(); a new kind is a new
//   enumerator and a new row of the name table, nothing else.
// - stock_event() is the only place that decides whether a change of a count
//   raises an event. The loader calls it for each change record it writes
//   and stores the event beside the record, in the same transaction; the
//   checker reads the stored events and never decides again.
// - Pure functions, no state: safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace stockwatch {

enum class EventKind : std::uint8_t {
  kOutOfStock,      // a count reaches 0 (or a new item arrives at 0)
  kBackInStock,     // a count leaves 0
  kReportRejected,  // a report was rejected whole
  kLowStock,        // a count drops below its minimum level, still above 0
  kStillOut,        // a reminder: an item has stayed at 0 (alerts.still_out_every_days)
  kReportMissing,   // a store's report is past its deadline ([[alerts.expect]])
  kDigest,          // a subscription's scheduled summary (`digest`)
  kRunningOut,      // an item is predicted to run out soon (pipeline/usage.hpp)
};

// Every kind, in the order its messages are queued and its metrics listed.
inline constexpr std::array<EventKind, 8> kEventKinds = {
    EventKind::kOutOfStock, EventKind::kBackInStock, EventKind::kReportRejected,
    EventKind::kLowStock, EventKind::kStillOut, EventKind::kReportMissing, EventKind::kDigest,
    EventKind::kRunningOut};

// "out_of_stock", "back_in_stock", "report_rejected", "low_stock", "still_out",
// "report_missing", "digest", "running_out".
[[nodiscard]] std::string_view event_name(EventKind kind);
// The kind with this name, or nullopt.
[[nodiscard]] std::optional<EventKind> event_from_name(std::string_view name);
// "out_of_stock, back_in_stock, ... or running_out": for error messages.
[[nodiscard]] std::string_view event_names_listed();

// Whether a count going from `old_count` (nullopt: a new item) to
// `new_count` raises an event, given the item's minimum level now
// (`minimum`) and before (`old_minimum`; negative: the same as `minimum`).
// A count is in one of three states: out (0), low (above 0, below its
// minimum) or stocked (at or above its minimum; with minimum 0 every count
// above 0). The rule:
// - out_of_stock: the new count is 0 and the old one was not (or the item
//   is new);
// - low_stock: the new count is low and the old one was stocked (or the
//   item is new): a count equal to its minimum is not low;
// - back_in_stock: the new count is stocked and the old one was out or low
//   (a new item raises nothing).
// Out to low raises nothing (the count is still below its minimum). The
// same count judged by a new minimum (a new levels file) goes through the
// same rule: stock_event(c, c, new_minimum, old_minimum).
// A change that raises nothing returns nullopt.
[[nodiscard]] std::optional<EventKind> stock_event(std::optional<std::int64_t> old_count,
                                                   std::int64_t new_count,
                                                   std::int64_t minimum = 0,
                                                   std::int64_t old_minimum = -1);

}  // namespace stockwatch
