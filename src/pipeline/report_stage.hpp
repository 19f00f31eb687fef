// The report stage: one ready report through load, archive and check.
//
// Contract:
// - handle() loads a report the inbox handed out, moves it out of the inbox
//   (or deletes it), records where it went in the ledger, then runs the
//   checker, which queues the alerts of everything loaded so far. It logs
//   each outcome and returns what the inbox should do with the report next
//   (Disposition) and how many messages were queued: more than 0 means the
//   mail stage has work. An unexpected exception while handling a report is
//   logged and the report is tried again (kRetry); nothing else escapes.
// - A report handled before a restart but not archived is recognised by
//   the loader (LoadOutcome::resumed): it is only archived, nothing is
//   loaded or alerted twice.
// - check() runs the checker alone (start-up: what a crash left pending).
// - checkpoint() copies the database log when it has grown (the loading
//   connection does not checkpoint at commit); run_report()
//   (pipeline/pipeline.hpp) calls it after the inbox was told the report is
//   done and the mail stage woken.
// - set_loader_options(), set_alerts() and set_archive() apply a reloaded
//   configuration from the next report on.
// - Blocking (disk, database), no Asio, no sleeping: the caller's thread
//   runs it, one call at a time, on the Storage's thread. `stop`, when set
//   from another thread, makes a load in progress roll back (kRetry).
#pragma once

#include <atomic>
#include <memory>
#include <optional>

#include "base/clock.hpp"
#include "config/config.hpp"
#include "inbox/arrivals.hpp"
#include "inbox/inbox.hpp"
#include "pipeline/archive.hpp"
#include "pipeline/checker.hpp"
#include "pipeline/loader.hpp"
#include "store/storage.hpp"

namespace stockwatch {

// What one checker run found, since the previous run.
struct CheckStep {
  bool ok = false;              // false: the checker failed (logged); it runs again next time
  int queued = 0;               // messages queued
  CheckerTotals found;          // events and messages since the previous run
};

struct ReportStep {
  Disposition disposition = Disposition::kRetry;
  std::optional<LoadOutcome> outcome;   // what the loader said, when it got that far
  double load_seconds = 0;              // how long the load took
  CheckStep check;                      // the checker run after it
};

// The loader's settings from the configuration ([report] and inbox limits).
LoaderOptions loader_options(const Config& config);
// Where handled reports go (inbox.processed, inbox.failed, inbox.archive).
ArchiveOptions archive_options(const Config& config);

class ReportStage {
 public:
  ReportStage(Storage& storage, const Clock& clock, LoaderOptions loading, AlertsConfig alerts,
              ArchiveOptions archive);
  ReportStage(const ReportStage&) = delete;
  ReportStage& operator=(const ReportStage&) = delete;

  [[nodiscard]] ReportStep handle(const InboxReport& report,
                                  const std::atomic<bool>* stop = nullptr);
  [[nodiscard]] CheckStep check();
  void checkpoint();

  void set_loader_options(LoaderOptions options);
  void set_alerts(AlertsConfig alerts);
  void set_archive(ArchiveOptions archive);
  // A shared inbox (inbox.shared): each report is claimed through the
  // database under `claimant` before it is read, and left to whichever
  // node holds it (Storage::claim_inbox_file). Empty: not shared.
  void set_shared_inbox(std::string claimant) { claimant_ = std::move(claimant); }
  // Where the ledger learns how each report arrived (null: every report
  // came through the folder). Its note of a report is forgotten once the
  // report is done.
  void set_arrivals(Arrivals* arrivals) { arrivals_ = arrivals; }
  // How long a claim lasts: past it, another node may load the report too
  // (the ledger then records a duplicate).
  static constexpr std::chrono::minutes kInboxClaimLease{30};

  // The ledger's marker for a report deleted instead of archived.
  static constexpr const char* kDeletedMarker = "(deleted)";

 private:
  [[nodiscard]] Disposition load_and_archive(const InboxReport& report,
                                             const std::atomic<bool>* stop, ReportStep& step);

  Storage& storage_;
  const Clock& clock_;
  std::unique_ptr<Loader> loader_;
  std::string language_;   // of .error.txt files: alerts.language
  Checker checker_;
  ArchiveOptions archive_;
  CheckerTotals reported_;   // what earlier check() calls returned
  Arrivals* arrivals_ = nullptr;
  std::string claimant_;     // a shared inbox's claimant; empty: not shared
};

}  // namespace stockwatch
