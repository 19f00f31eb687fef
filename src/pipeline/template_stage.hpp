// The template stage: at each time `[templates] send` names, every store's
// subscribers get the store's stock-count sheet by email
// (docs/templates.md).
//
// Contract:
// - process_due() handles the latest scheduled time at or before now, once:
//   for every (subscriber address, store) pair it queues one outbox message
//   (event "template") whose payload holds the sheet, made now from the
//   inventory (notify/template_mail.hpp says why at queue time). The time
//   is marked handled in the same transaction (Storage::commit_schedule),
//   so a restart, a second process or a repeated step never queues it
//   twice, and a time missed while the daemon was stopped is sent late,
//   once (only the latest missed one).
// - The first step under a schedule (a new or changed `send`) marks the
//   latest past time handled without sending: a sheet goes out at the next
//   time, never for one that passed before the setting existed.
// - A subscription's stores are matched exactly against the inventory's;
//   one with no stores gets every store's sheet. A store it names that
//   has no items in the inventory is skipped (listed in the step).
// - Storage failures are returned as values and mark nothing (the next
//   step tries again). A sheet that cannot be made (the temporary folder
//   cannot be written) fails the whole step the same way.
// - Runs on the thread of its Storage (the daemon's db strand); reads the
//   time from the clock; no sleeping. The daemon arms a timer for
//   next_due() and calls process_due() when it fires.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "base/schedule.hpp"
#include "config/config.hpp"
#include "store/storage.hpp"

namespace stockwatch {

struct TemplateStageOptions {
  std::optional<MonthlySchedule> schedule;  // none: the stage does nothing
  std::string language = "en";
  std::string sender;                       // alerts.from
  std::vector<Subscription> subscriptions;
  HeaderAliases aliases;
  std::filesystem::path tmpdir;             // where the workbooks are made

  // The options the configuration sets; workbooks are made in the
  // database's folder.
  static TemplateStageOptions from(const Config& config);
};

struct TemplateStep {
  std::optional<TimePoint> handled;          // the scheduled time handled in this step
  std::size_t queued = 0;                    // messages queued
  std::vector<std::string> skipped_stores;   // named by a subscription, not in the inventory
};

class TemplateStage {
 public:
  TemplateStage(Storage& storage, const Clock& clock, TemplateStageOptions options);

  [[nodiscard]] Result<TemplateStep> process_due();
  // The next scheduled time after now; nullopt without a schedule.
  [[nodiscard]] std::optional<TimePoint> next_due() const;
  // When to try again after process_due() failed: a minute from now.
  [[nodiscard]] TimePoint retry_at() const { return clock_.now() + std::chrono::minutes(1); }
  // A new configuration (SIGHUP).
  void reload(TemplateStageOptions options) { options_ = std::move(options); }

 private:
  Storage& storage_;
  const Clock& clock_;
  TemplateStageOptions options_;
};

}  // namespace stockwatch
