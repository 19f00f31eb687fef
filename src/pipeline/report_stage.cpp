#include "pipeline/report_stage.hpp"

#include <sys/stat.h>
#include "report/report_problem.hpp"
#include "text/catalog.hpp"

#include <filesystem>
#include <optional>

#include <spdlog/spdlog.h>

#include <chrono>
#include <exception>
#include <string>

namespace stockwatch {

LoaderOptions loader_options(const Config& c) {
  LoaderOptions o;
  o.limits = c.report.limits;
  o.aliases = c.report.aliases;
  o.workbook = c.report.workbook;
  o.default_minimum = c.alerts.default_minimum;
  o.max_report_bytes = c.inbox.max_report_bytes;
  o.confine_to = c.inbox.path;
  // Rows being sorted spill beside the data (empty: $TMPDIR).
  o.sort_dir = c.storage.scratch_dir();
  return o;
}

ArchiveOptions archive_options(const Config& c) {
  return {c.inbox.path, c.inbox.processed, c.inbox.failed, c.inbox.archive == "delete"};
}

ReportStage::ReportStage(Storage& storage, const Clock& clock, LoaderOptions loading,
                         AlertsConfig alerts, ArchiveOptions archive)
    : storage_(storage),
      clock_(clock),
      loader_(std::make_unique<Loader>(storage, clock, std::move(loading))),
      language_(alerts.language),
      checker_(storage, clock, std::move(alerts)),
      archive_(std::move(archive)) {}

void ReportStage::set_loader_options(LoaderOptions options) {
  loader_ = std::make_unique<Loader>(storage_, clock_, std::move(options));
}

void ReportStage::set_alerts(AlertsConfig alerts) {
  language_ = alerts.language;
  checker_.set_config(std::move(alerts));
}

void ReportStage::set_archive(ArchiveOptions archive) { archive_ = std::move(archive); }

namespace {
// A shared inbox's name for the file as it is now; nullopt once it is gone.
std::optional<std::string> claim_name(const InboxReport& report) {
  struct stat st {};
  if (::stat(report.path.c_str(), &st) != 0) return std::nullopt;
  return report.relative + "\x1f" + std::to_string(st.st_size) + "\x1f" +
         std::to_string(static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL +
                        st.st_mtim.tv_nsec);
}
}  // namespace

ReportStep ReportStage::handle(const InboxReport& report, const std::atomic<bool>* stop) {
  ReportStep step;
  try {
    std::optional<std::string> claimed;
    if (!claimant_.empty()) {
      claimed = claim_name(report);
      if (!claimed) {  // another node took it away already
        step.disposition = Disposition::kDone;
        return step;
      }
      auto held = storage_.claim_inbox_file(*claimed, claimant_, clock_.now(), kInboxClaimLease);
      if (!held) {
        spdlog::error("{}: cannot claim it in the shared inbox, will try again: {}",
                      report.relative, held.error().message());
        step.disposition = Disposition::kRetry;
        return step;
      }
      if (!*held) {
        spdlog::debug("{}: another node is loading it", report.relative);
        step.disposition = Disposition::kRetry;
        return step;
      }
    }
    step.disposition = load_and_archive(report, stop, step);
    if (arrivals_ && step.disposition == Disposition::kDone) arrivals_->forget(report.relative);
    if (claimed) {
      if (auto st = storage_.release_inbox_file(*claimed, claimant_); !st.ok()) {
        spdlog::warn("{}: its claim in the shared inbox was not given up (it ends by itself "
                     "within {} minutes): {}", report.relative, kInboxClaimLease.count(),
                     st.message());
      }
    }
    step.check = check();
  } catch (const std::exception& e) {
    spdlog::critical("{}: unexpected error, will try again: {}", report.relative, e.what());
    step.disposition = Disposition::kRetry;
  }
  return step;
}

std::optional<ReportFile> ReportStage::load(const InboxReport& report,
                                           const std::atomic<bool>* stop, ReportStep& step) {
  const auto began = std::chrono::steady_clock::now();
  // Loaded and archived from one descriptor: what was read is what is kept.
  auto file = loader_->open(report.path);
  if (file) file->arrived_by = arrivals_ ? arrivals_->of(report.relative) : Arrivals::kFolder;
  auto out = file ? loader_->load(*file, report.relative, stop)
                  : Result<LoadOutcome>(file.error());
  step.load_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  if (!out) {
    const auto& e = out.error();
    switch (e.code()) {
      case ErrorCode::kCancelled:
        spdlog::info("{}: loading stopped by shutdown; nothing of it was loaded; it is loaded "
                     "at the next start", report.relative);
        step.disposition = Disposition::kRetry;
        break;
      case ErrorCode::kNotFound:
        // In a shared inbox, the usual fate of a file another node handled.
        if (claimant_.empty()) spdlog::warn("{}: vanished before it could be read", report.relative);
        else spdlog::debug("{}: gone from the shared inbox before it was read", report.relative);
        step.disposition = Disposition::kDone;
        break;
      case ErrorCode::kPermission:
        spdlog::error("{}: {}; make it readable by the user stockwatch runs as; it is tried "
                      "again when its permissions change", report.relative, e.message());
        step.disposition = Disposition::kParked;
        break;
      case ErrorCode::kBusy:
        spdlog::info("{}", e.message());
        step.disposition = Disposition::kRetry;
        break;
      default:
        spdlog::error("{}: not loaded, will try again: {}", report.relative, e.message());
        step.disposition = Disposition::kRetry;
        break;
    }
    return std::nullopt;
  }
  step.outcome = *out;
  if (out->status == ReportStatus::kRejected) {
    spdlog::warn("{}: {}", report.relative, out->summary());
  } else {
    spdlog::info("{}: {}", report.relative, out->summary());
  }
  return std::move(*file);
}

std::optional<ArchivedCopy> ReportStage::place(const InboxReport& report, const ReportFile& file,
                                               ReportStep& step) {
  const LoadOutcome& out = *step.outcome;
  const bool rejected = out.status == ReportStatus::kRejected;
  // The .error.txt beside a rejected report is in alerts.language.
  const std::string error_text =
      rejected ? rendered_problems(out.problems, out.error, catalog_for(language_)) : out.error;
  auto placed = place_report(archive_, report.path, report.relative, rejected, error_text,
                             file.fd.get());
  if (!placed && placed.error().code() == ErrorCode::kInvalidInput) {
    // Its folder was swapped for a link out of the inbox: whatever the name
    // reaches now is not touched. The ledger keeps what was decided.
    spdlog::error("{}: handled ({}) but left where it is, not archived: {}", report.relative,
                  to_string(out.status), placed.error().message());
    step.disposition = Disposition::kDone;
    return std::nullopt;
  }
  if (!placed) {
    spdlog::error("{}: handled ({}) but cannot be archived, will try again: {}", report.relative,
                  to_string(out.status), placed.error().message());
    step.disposition = Disposition::kRetry;
    return std::nullopt;
  }
  return std::move(*placed);
}

void ReportStage::note_archived(const InboxReport& report, const ReportStep& step,
                                const std::filesystem::path& where) {
  const std::string name =
      where.empty() ? std::string(kDeletedMarker) : printable_name(where.string());
  if (auto st = storage_.mark_archived(step.outcome->report_id, name); !st.ok()) {
    spdlog::error("{}: archived to {} but the ledger was not updated: {}", report.relative,
                  where.empty() ? name : where.string(), st.message());
  }
}

Disposition ReportStage::leave_inbox(const InboxReport& report, const ReportStep& step,
                                     ArchivedCopy& placed) {
  const bool deleted = placed.where().empty();
  if (auto st = placed.leave_inbox(); !st.ok()) {
    spdlog::error("{}: handled ({}) but cannot be archived, will try again: {}", report.relative,
                  to_string(step.outcome->status), st.message());
    return Disposition::kRetry;
  }
  // Delete mode has no copy to name before the removal; the ledger still
  // records that the report left the inbox.
  if (deleted) note_archived(report, step, {});
  return Disposition::kDone;
}

Disposition ReportStage::load_and_archive(const InboxReport& report,
                                          const std::atomic<bool>* stop, ReportStep& step) {
  auto file = load(report, stop, step);
  if (!file) return step.disposition;
  auto placed = place(report, *file, step);
  if (!placed) return step.disposition;
  // The ledger notes the archived copy before the name leaves the inbox: a
  // kill after that leaves either the report in the inbox, which the next
  // start recognises as that copy and only takes out of the inbox, or
  // nothing left to do. Noted after the removal, a kill between the two left
  // a report loaded whose ledger row never learnt where it went. (Delete
  // mode has no copy to name; its ledger is noted after the removal.)
  if (!placed->where().empty()) note_archived(report, step, placed->where());
  return leave_inbox(report, step, *placed);
}

std::optional<std::int64_t> ReportStage::group_bytes(const InboxReport& report) const {
  if (!claimant_.empty() || !storage_.groups_writes()) return std::nullopt;
  struct stat st {};
  if (::stat(report.path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > kGroupBytes) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(st.st_size);
}

namespace {
// A group of writes left unended however the scope is left (an early
// return, an exception) is dropped, so the connection never stays inside it.
class OpenGroup {
 public:
  explicit OpenGroup(Storage& storage) : storage_(storage) {}
  OpenGroup(const OpenGroup&) = delete;
  OpenGroup& operator=(const OpenGroup&) = delete;
  ~OpenGroup() {
    if (open_) storage_.abandon_group();
  }
  [[nodiscard]] Status begin() {
    auto st = storage_.begin_group();
    open_ = st.ok();
    return st;
  }
  [[nodiscard]] Status end() {
    open_ = false;
    return storage_.end_group();
  }

 private:
  Storage& storage_;
  bool open_ = false;
};
}  // namespace

std::vector<ReportStep> ReportStage::handle_group(
    std::span<const InboxReport> reports, const std::atomic<bool>* stop,
    const std::function<void(const InboxReport&)>& loading) {
  std::vector<ReportStep> steps(reports.size());   // kRetry unless handled
  // How the log names the group: the report itself when it is alone.
  const std::string who = reports.size() == 1 ? reports.front().relative
                                               : std::to_string(reports.size()) + " reports";
  bool loads_kept = false;   // the first commit is done
  const auto forget_loads = [&] {
    for (auto& step : steps) {
      if (!step.outcome) continue;
      step.outcome.reset();
      step.disposition = Disposition::kRetry;
    }
  };
  try {
    std::vector<std::optional<ReportFile>> files(reports.size());
    {
      // 1. Every load in one commit.
      OpenGroup group(storage_);
      if (auto st = group.begin(); !st.ok()) {
        // Another process holds the write lock past the busy timeout (or
        // the database fails): each waits and is tried again, as a single
        // report whose load cannot begin.
        spdlog::info("{}: not loaded yet, the database is busy or failing; tried again "
                     "shortly: {}", who, st.message());
        return steps;
      }
      for (std::size_t i = 0; i < reports.size() && !(stop && stop->load()); ++i) {
        if (loading) loading(reports[i]);
        files[i] = load(reports[i], stop, steps[i]);
      }
      if (auto st = group.end(); !st.ok()) {
        spdlog::error("{}: loaded but not kept, will try again: {}", who, st.message());
        forget_loads();
        return steps;
      }
      loads_kept = true;
    }
    // 2. Each placed in the archive; where each went noted in the ledger,
    // and the checker's run, in one commit; only then do the names leave
    // the inbox (load_and_archive() says why in that order).
    std::vector<std::optional<ArchivedCopy>> placed(reports.size());
    for (std::size_t i = 0; i < reports.size(); ++i) {
      if (files[i]) placed[i] = place(reports[i], *files[i], steps[i]);
    }
    const auto keep_names = [&](const char* why, const std::string& detail) {
      bool any = false;
      for (std::size_t i = 0; i < reports.size(); ++i) {
        if (!placed[i] || placed[i]->where().empty()) continue;
        placed[i].reset();   // the name stays: the next look only archives it
        steps[i].disposition = Disposition::kRetry;
        any = true;
      }
      if (any) spdlog::error("{}: {}, will try again: {}", who, why, detail);
    };
    CheckStep check;
    {
      OpenGroup group(storage_);
      const Status began = group.begin();
      if (!began.ok()) keep_names("where each was archived cannot be noted", began.message());
      for (std::size_t i = 0; i < reports.size(); ++i) {
        if (placed[i] && !placed[i]->where().empty()) {
          note_archived(reports[i], steps[i], placed[i]->where());
        }
      }
      check = this->check();
      if (began.ok()) {
        if (auto st = group.end(); !st.ok()) {
          keep_names("where each was archived was not noted", st.message());
          check.ok = false;   // its run was not kept either: it runs again soon
        }
      }
    }
    // 3. The names leave the inbox (delete mode: the ledger notes it after).
    for (std::size_t i = 0; i < reports.size(); ++i) {
      if (placed[i]) steps[i].disposition = leave_inbox(reports[i], steps[i], *placed[i]);
      if (arrivals_ && steps[i].disposition == Disposition::kDone) {
        arrivals_->forget(reports[i].relative);
      }
    }
    // The run's checker step is told once, with the last report.
    steps.back().check = check;
  } catch (const std::exception& e) {
    spdlog::critical("{}: unexpected error, will try again: {}", who, e.what());
    if (!loads_kept) forget_loads();
  } catch (...) {
    spdlog::critical("{}: unexpected error, will try again", who);
    if (!loads_kept) forget_loads();
  }
  return steps;
}

CheckStep ReportStage::check() {
  CheckStep step;
  auto n = checker_.process_due();
  if (!n) {
    spdlog::error("checker: {}", n.error().message());
    return step;
  }
  const CheckerTotals t = checker_.totals();
  step.ok = true;
  step.queued = *n;
  step.found.out_of_stock = t.out_of_stock - reported_.out_of_stock;
  step.found.back_in_stock = t.back_in_stock - reported_.back_in_stock;
  step.found.report_rejected = t.report_rejected - reported_.report_rejected;
  step.found.low_stock = t.low_stock - reported_.low_stock;
  step.found.still_out = t.still_out - reported_.still_out;
  step.found.messages = t.messages - reported_.messages;
  reported_ = t;
  if (*n > 0) spdlog::info("checker: {} alert message(s) queued", *n);
  return step;
}

// The loading connection does not checkpoint at commit, so alerts are
// queued without waiting for the copy. It copies the log here, once they
// are and the inbox knows the report is done, and before this stage writes
// again, so that the log starts over instead of growing while reports keep
// coming.
void ReportStage::checkpoint() {
  if (auto st = storage_.maintain(); !st.ok()) {
    spdlog::warn("checkpoint: {}", st.message());
  }
}

}  // namespace stockwatch
