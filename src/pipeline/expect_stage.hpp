// The expect stage: a store that has not reported by its deadline
// ([[alerts.expect]]) raises report_missing for its subscribers, and again,
// after escalate_after_days, for the subscriptions that cover every store
// (docs/alerts.md#missing-reports).
//
// Contract:
// - Deadlines, in [alerts] timezone:
//   - within_days = N: N x 24 hours after the store's newest loaded report
//     was received, and every N days after that while none arrives;
//   - day_of_month = D: the end of day D of each month (the report of a
//     month is due by day D of the next); a loaded report received after
//     the deadline before counts for this one.
//   A store that a rule names but no report has named yet counts from the
//   first step under the rule.
// - process_due() alerts each store's latest missed deadline once: the
//   deadline is marked handled per (rule, store) in the same transaction
//   as its messages (Storage::commit_schedule), so a restart, a second
//   process or a repeated step never alerts it twice, and deadlines missed
//   while the daemon was stopped are alerted late, once (the latest). An
//   escalation is marked the same way, under its own name.
// - Recipients (pipeline/recipients.hpp): every channel (email, webhook,
//   Telegram) of a subscription whose stores include the store (or that
//   has none) and whose events include report_missing (or that has none);
//   an escalation only those of subscriptions with no stores. Each
//   recipient once per store and deadline, in its language.
// - Storage failures are returned as values and mark nothing (the next
//   step tries again).
// - Runs on the thread of its Storage (the daemon's db strand); reads the
//   time from the clock; no sleeping. The daemon arms a timer for
//   next_due() (an hour at most) and calls process_due() when it fires.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "base/time_zone.hpp"
#include "config/config.hpp"
#include "store/storage.hpp"

namespace stockwatch {

struct ExpectStageOptions {
  std::vector<ExpectRule> rules;   // none: the stage does nothing
  TimeZone zone;
  std::string sender;              // alerts.from
  std::string language = "en";
  std::vector<Subscription> subscriptions;

  static ExpectStageOptions from(const Config& config);
};

// A store past a deadline, as of some time.
struct MissingReport {
  std::string store;
  TimePoint due{};                         // the latest deadline it missed
  std::optional<TimePoint> last_report;    // its newest loaded report, if any
  const ExpectRule* rule = nullptr;        // points into the options
};

// The latest deadline of `rule` at or before `t` for a store whose newest
// loaded report was received at `last` (none: never), under a rule applied
// since `since`, if the store has missed it; nullopt when it has not.
[[nodiscard]] std::optional<TimePoint> missed_deadline(const ExpectRule& rule, const TimeZone& zone,
                                                       std::optional<TimePoint> last,
                                                       TimePoint since, TimePoint t);
// The first deadline of `rule` after `t` for such a store.
[[nodiscard]] TimePoint next_deadline(const ExpectRule& rule, const TimeZone& zone,
                                      std::optional<TimePoint> last, TimePoint since, TimePoint t);

struct ExpectStep {
  std::size_t queued = 0;                  // messages queued
  std::vector<std::string> missing;        // stores alerted in this step
  std::vector<std::string> escalated;      // stores escalated in this step
};

class ExpectStage {
 public:
  ExpectStage(Storage& storage, const Clock& clock, ExpectStageOptions options);

  [[nodiscard]] Result<ExpectStep> process_due();
  // When the next deadline or escalation falls (as of the last step; an
  // hour from now at most, since a new store or a report moves them);
  // nullopt without rules.
  [[nodiscard]] std::optional<TimePoint> next_due() const;
  [[nodiscard]] TimePoint retry_at() const { return clock_.now() + std::chrono::minutes(1); }
  void reload(ExpectStageOptions options) { options_ = std::move(options); }

  // Every store past a deadline at `now` under `options` (the digest lists
  // them), in store order, each once (its latest missed deadline). Reads;
  // notes the first step of a rule it has not seen.
  [[nodiscard]] static Result<std::vector<MissingReport>> missing_now(
      Storage& storage, const ExpectStageOptions& options, TimePoint now,
      std::optional<TimePoint>* next = nullptr);

 private:
  Storage& storage_;
  const Clock& clock_;
  ExpectStageOptions options_;
  std::optional<TimePoint> next_;
};

// The schedule-mark names a rule uses ("expect within 35 days [Medan]").
[[nodiscard]] std::string expect_rule_key(const ExpectRule& rule);

}  // namespace stockwatch
