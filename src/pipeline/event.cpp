#include "pipeline/event.hpp"

#include <string>

#include "base/name_table.hpp"

namespace stockwatch {

namespace {

// The name table: the names are stored in the database and written in
// configuration files, so a shipped name never changes.
constexpr Named<EventKind> kNames[] = {
    {EventKind::kOutOfStock, "out_of_stock"},
    {EventKind::kBackInStock, "back_in_stock"},
    {EventKind::kReportRejected, "report_rejected"},
    {EventKind::kLowStock, "low_stock"},
    {EventKind::kStillOut, "still_out"},
    {EventKind::kReportMissing, "report_missing"},
    {EventKind::kDigest, "digest"},
    {EventKind::kRunningOut, "running_out"},
};
static_assert(std::size(kNames) == kEventKinds.size(), "every kind has a name");

}  // namespace

std::string_view event_name(EventKind kind) { return name_in<EventKind>(kNames, kind); }

std::optional<EventKind> event_from_name(std::string_view name) {
  return value_in<EventKind>(kNames, name);
}

std::string_view event_names_listed() {
  static const std::string listed = [] {
    std::string out;
    for (std::size_t i = 0; i < std::size(kNames); ++i) {
      if (i > 0) out += i + 1 == std::size(kNames) ? " or " : ", ";
      out += kNames[i].name;
    }
    return out;
  }();
  return listed;
}

namespace {
enum class Level : std::uint8_t { kOut, kLow, kStocked };
Level level_of(std::int64_t count, std::int64_t minimum) {
  if (count <= 0) return Level::kOut;
  return count < minimum ? Level::kLow : Level::kStocked;
}
}  // namespace

std::optional<EventKind> stock_event(std::optional<std::int64_t> old_count, std::int64_t new_count,
                                     std::int64_t minimum, std::int64_t old_minimum) {
  if (old_minimum < 0) old_minimum = minimum;
  const Level now = level_of(new_count, minimum);
  if (!old_count) {
    if (now == Level::kOut) return EventKind::kOutOfStock;
    if (now == Level::kLow) return EventKind::kLowStock;
    return std::nullopt;
  }
  const Level before = level_of(*old_count, old_minimum);
  if (now == before) return std::nullopt;
  switch (now) {
    case Level::kOut: return EventKind::kOutOfStock;
    case Level::kLow:
      if (before == Level::kStocked) return EventKind::kLowStock;
      return std::nullopt;
    case Level::kStocked: return EventKind::kBackInStock;
  }
  return std::nullopt;
}

}  // namespace stockwatch
