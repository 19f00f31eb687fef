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
//   report, until the last page moves it to the report's end.
//   Message-IDs are derived from (report or change, event, recipient), so a
//   repeated step can never queue the same message twice.
// - Each recipient gets exactly what its subscriptions select: with group =
//   "report" one message per report and event listing its items (the first
//   kMaxListed; the rest are counted, for that recipient, in the body and
//   the subject); with group = "item" one message per item, however many.
// - Events: the loader has marked each change record with the event it
//   raises (stock_event(), pipeline/event.hpp); the checker reads those and
//   decides only who gets them: out_of_stock, back_in_stock (only with
//   alerts.back_in_stock), and report_rejected (only with
//   alerts.notify_rejected).
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
  std::int64_t running_out = 0;       // items predicted to run out soon (alerted or not)
  std::int64_t messages = 0;          // messages queued

  // The events of one kind found.
  [[nodiscard]] std::int64_t of(EventKind e) const {
    switch (e) {
      case EventKind::kOutOfStock: return out_of_stock;
      case EventKind::kBackInStock: return back_in_stock;
      case EventKind::kReportRejected: return report_rejected;
      case EventKind::kRunningOut: return running_out;
    }
    return 0;
  }
};

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
  [[nodiscard]] Result<int> process_report(PendingChanges& p);
  // Counts what a committed step handled, for totals().
  void add_totals(std::size_t out_of_stock, std::size_t back_in_stock, std::size_t messages);

  Storage& storage_;
  const Clock& clock_;
  mutable std::mutex mu_;
  AlertsConfig config_;
  CheckerTotals totals_;   // guarded by mu_
};

}  // namespace stockwatch
