// The checker (Check-Stock): turns change records and rejected reports into
// queued alert emails.
//
// Contract:
// - process_due() reads the change log from the durable cursor, one report
//   at a time and each report a page (kPageSize alerting records) at a time,
//   so memory stays bounded however large a report is. It queues messages
//   and advances the cursor in one transaction: a crash repeats nothing and
//   loses nothing. With group = "report" that is one transaction per report
//   (a report's messages need all of its pages); with group = "item" one per
//   page, the cursor then pointing at the page's last record, inside the
//   report, until the last page moves it to the report's end. A report
//   whose last step queues nothing (a quiet report, most of them), or that
//   is small (at most kPageSize change records), moves the cursor in the
//   same transaction as the report's take-in into the use rates
//   (pipeline/forecast_stage.hpp), when that report is the next to take
//   in: one commit for both. A larger report's alerts are committed first.
//   Message-IDs are derived from (report or change, event, recipient), so a
//   repeated step can never queue the same message twice.
// - Each recipient gets exactly what its subscriptions select: with group =
//   "report" one message per report and event listing its items (the first
//   kMaxListed; the rest are counted, for that recipient, in the body and
//   the subject); with group = "item" one message per item, however many.
// - Events: the loader has marked each change record with the event it
//   raises (stock_event(), pipeline/event.hpp); the checker reads those and
//   decides only who gets them: out_of_stock, low_stock, back_in_stock
//   (only with alerts.back_in_stock), and report_rejected (only with
//   alerts.notify_rejected). A levels file's load is read like a report:
//   its records (same count, new minimum) raise low_stock or back_in_stock,
//   grouped as a report's whatever alerts.group says.
// - Mutes (Storage::mutes, `stockwatch mute`): an event of a muted item is
//   dropped: before the mute's `until`, or, with until_change, when the
//   count has not changed since the mute was set (a change loaded after it
//   ends the mute for that item). Read once per process_due().
// - Reminders (alerts.still_out_every_days = N > 0): once a day (UTC; the
//   schedule mark "still_out" makes it once across restarts and
//   processes), every item at 0 for a whole multiple of N days (counted
//   from the change that took it to 0) is listed in one still_out message
//   per recipient. A day the daemon does not run is not made up.
// - A queued message holds the event data (notify/alert.hpp), rendered into
//   the email when it is sent; the subject and body below are that rendering.
// - Subjects: with group = "report", alerts.subject is followed by a short
//   summary of what the recipient's message lists ("Medan: 3 items out of
//   stock", "Medan: Robusta Dairi is out of stock", "3 stores, 12 items out
//   of stock"); with group = "item", alerts.subject alone.
// - Blocking (database): call it off the event loop, on its Storage's thread.
#pragma once

#include <mutex>

#include "base/clock.hpp"
#include "config/config.hpp"
#include "base/result.hpp"
#include "store/storage.hpp"

namespace stockwatch {

// What the checker has found since it was created (for metrics).
struct CheckerTotals {
  std::int64_t out_of_stock = 0;      // items that went out of stock
  std::int64_t back_in_stock = 0;     // items back in stock (counted whether alerted or not)
  std::int64_t report_rejected = 0;   // rejected reports
  std::int64_t low_stock = 0;         // items that dropped below their minimum
  std::int64_t still_out = 0;         // still_out reminders (items)
  std::int64_t running_out = 0;       // items predicted to run out soon (alerted or not)
  std::int64_t messages = 0;          // messages queued

  // The events of one kind found.
  [[nodiscard]] std::int64_t of(EventKind e) const {
    switch (e) {
      case EventKind::kOutOfStock: return out_of_stock;
      case EventKind::kBackInStock: return back_in_stock;
      case EventKind::kReportRejected: return report_rejected;
      case EventKind::kLowStock: return low_stock;
      case EventKind::kStillOut: return still_out;
      case EventKind::kRunningOut: return running_out;
      default: break;  // not the checker's (pipeline/expect_stage, digest_stage)
    }
    return 0;
  }
};

// Whether a mute in `mutes` silences an event of `item` in `store` at
// `now`; `changed_at` is when the count last changed (a change event: its
// report's time), and `changed` whether the event comes from a change of
// the count (a levels file's records do not).
[[nodiscard]] bool is_muted(const std::vector<Mute>& mutes, std::string_view store,
                            std::string_view item, TimePoint now, TimePoint changed_at,
                            bool changed);

class Checker {
 public:
  Checker(Storage& storage, const Clock& clock, AlertsConfig config);

  // Handles everything pending; returns the number of messages queued.
  [[nodiscard]] Result<int> process_due();

  [[nodiscard]] CheckerTotals totals() const;

  // Replaces the alert settings (config reload); takes effect on the next step.
  void set_config(AlertsConfig config);

  // The messages for the records in `changes`, taken as the whole report
  // (for tests; process_due() reads a large report page by page), and for
  // one rejected report.
  [[nodiscard]] std::vector<OutboxMessage> messages_for(const PendingChanges& changes) const;
  [[nodiscard]] std::vector<OutboxMessage> messages_for_rejection(const ReportRecord& report) const;

  // Alerting change records read (and, with group = "item", committed) at a time.
  static constexpr std::size_t kPageSize = 1000;
  // Items one report-grouped message lists; the rest are counted.
  static constexpr std::size_t kMaxListed = 1000;

 private:
  [[nodiscard]] AlertsConfig config() const;
  // Queues the messages of the report `p` (its first page read) and moves
  // the cursor to its end; returns the number queued.
  [[nodiscard]] Result<int> process_report(PendingChanges& p, const std::vector<Mute>& mutes);
  // Queues `msgs`, the check's messages for the report `p` (its last page
  // read), and moves the cursor to its end. When `p` is also the next
  // report to take in (as each report the daemon loads is) and either
  // queued nothing or is small (at most kPageSize change records), in one
  // transaction with its take-in (Storage::commit_check_with_take_in);
  // otherwise alone (commit_check), so that a large report's take-in never
  // delays its alerts. Returns the running_out messages the take-in queued.
  [[nodiscard]] Result<int> commit_with_take_in(const PendingChanges& p, const AlertsConfig& cfg,
                                                const std::vector<OutboxMessage>& msgs);
  // Queues today's still_out reminders, if not done yet; returns the
  // number of messages queued.
  [[nodiscard]] Result<int> process_reminders(const std::vector<Mute>& mutes);
  // Counts what a committed step handled, for totals().
  void add_totals(std::size_t out_of_stock, std::size_t back_in_stock, std::size_t messages);

  Storage& storage_;
  const Clock& clock_;
  mutable std::mutex mu_;
  AlertsConfig config_;
  CheckerTotals totals_;   // guarded by mu_
};

}  // namespace stockwatch
