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

std::optional<EventKind> stock_event(std::optional<std::int64_t> old_count, std::int64_t new_count,
                                     std::int64_t minimum) {
  if (new_count == 0) {
    if (!old_count || *old_count > 0) return EventKind::kOutOfStock;
    return std::nullopt;
  }
  if (old_count && *old_count == 0 && new_count >= minimum) return EventKind::kBackInStock;
  return std::nullopt;
}

}  // namespace stockwatch
