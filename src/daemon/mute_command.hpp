// `stockwatch mute` and `stockwatch unmute`: silence the alerts of an item
// or of a whole store, for a while or until the count changes, beside a
// running daemon.
//
// Contract:
// - Opens the database like `ingest` (Storage::open migrates it), never the
//   daemon's instance lock, so it works while the daemon runs; the daemon's
//   checker reads the mutes at its next step.
// - mute: --store is required; --item narrows it to one item (without it,
//   every item of the store); exactly one of --until DATE (YYYY-MM-DD,
//   muted before that day's 00:00 UTC, or YYYY-MM-DDTHH:MM, UTC) or
//   --until-change (muted until the item's count changes after now). A
//   mute of the same store and item replaces the one before.
// - unmute: --store, and --item to remove only that item's mute (without
//   it, every mute of the store).
// - mute --list: every mute, with what it waits for; ended ones say so.
// - Returns the exit status: 0 done, 1 refused (bad arguments, nothing to
//   unmute), 2 an error; the outcome on `out`, problems on `err`.
#pragma once

#include <optional>
#include <ostream>
#include <string>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "config/config.hpp"

namespace stockwatch {

struct MuteCommand {
  std::string action;              // "mute", "unmute", "list"
  std::string store;
  std::optional<std::string> item;
  std::string until;               // mute: the date, as given
  bool until_change = false;
};

// "2026-12-31" (that day's 00:00 UTC) or "2026-12-31T08:00" (UTC).
[[nodiscard]] Result<TimePoint> parse_until(const std::string& text);

int run_mute_command(const Config& config, const Clock& clock, const MuteCommand& command,
                     std::ostream& out, std::ostream& err);

}  // namespace stockwatch
