// The report stage: a ready report (or several small ones together)
// through load, archive and check.
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
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

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

  // Several small reports that are ready at once, as handle() would take
  // them one after another, in fewer commits: every load in one, then
  // where each went in the ledger together with the checker's run in
  // another, and only then each name out of the inbox. Each report's step
  // is its own (a rejected or unreadable report does not hold back the
  // others); the checker's run is told with the last. When a commit fails,
  // nothing of the reports it held is kept and they are tried again
  // (kRetry); so are they all when the group cannot begin (another
  // process holds the write lock past the busy timeout). `loading` is
  // called as each report begins loading. Only for reports group_bytes()
  // accepts.
  [[nodiscard]] std::vector<ReportStep> handle_group(
      std::span<const InboxReport> reports, const std::atomic<bool>* stop = nullptr,
      const std::function<void(const InboxReport&)>& loading = {});
  // The size of `report` when it may go in a group (a regular file of at
  // most kGroupBytes, the storage commits groups as one
  // (Storage::groups_writes), the inbox not shared); nullopt otherwise.
  [[nodiscard]] std::optional<std::int64_t> group_bytes(const InboxReport& report) const;
  // The largest report handle_group() takes, and how many and how many
  // bytes at most: the write lock is held for the whole group.
  static constexpr std::int64_t kGroupBytes = 256 * 1024;
  static constexpr std::size_t kGroupReports = 64;
  static constexpr std::int64_t kGroupTotalBytes = 4 * 1024 * 1024;

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
  // The steps of load_and_archive(). load() and place() log what failed and
  // set step.disposition when they return nullopt.
  [[nodiscard]] std::optional<ReportFile> load(const InboxReport& report,
                                               const std::atomic<bool>* stop, ReportStep& step);
  [[nodiscard]] std::optional<ArchivedCopy> place(const InboxReport& report,
                                                  const ReportFile& file, ReportStep& step);
  // Notes in the ledger where the report went (empty: deleted); a failure is logged.
  void note_archived(const InboxReport& report, const ReportStep& step,
                     const std::filesystem::path& where);
  // Removes the name from the inbox; in delete mode the ledger then notes
  // the deletion. kRetry (logged) when the name cannot be removed.
  [[nodiscard]] Disposition leave_inbox(const InboxReport& report, const ReportStep& step,
                                        ArchivedCopy& placed);

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
