#include "pipeline/pipeline.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <optional>

#include "base/guard.hpp"

namespace stockwatch {

namespace {
// What follows handling, written once for a report alone and for a group:
// `handle` takes the reports through the stage, calling the `loading` it
// is given as each one begins loading, and returns one step per report.
// Then each report's step is told, the checker's run once (with the last
// step), the inbox hears of every report whatever happened, the mail stage
// is woken when the checker queued messages, and last the checkpoint runs.
template <class Handle>
std::vector<ReportStep> run_handled(ReportStage& reports, std::span<const InboxReport> ready,
                                    PipelineEvents& events, const std::atomic<bool>* stop,
                                    Handle&& handle) {
  const bool stopped = stop && stop->load();
  std::vector<ReportStep> steps(ready.size());   // kRetry unless handled
  if (!stopped) {
    const auto loading = [&](const InboxReport& r) {
      guarded("report loading", [&] { events.loading(r); })();
    };
    guarded("report", [&] { steps = handle(loading); })();
    steps.resize(ready.size());   // kRetry for every report if it threw
    for (std::size_t k = 0; k < ready.size(); ++k) {
      guarded("report handled", [&] { events.handled(ready[k], steps[k]); })();
    }
    guarded("checked", [&] { events.checked(steps.back().check); })();
  }
  for (std::size_t k = 0; k < ready.size(); ++k) {
    guarded("report done", [&] { events.report_done(ready[k].relative, steps[k].disposition); })();
  }
  if (steps.back().check.queued > 0) guarded("wake mail", [&] { events.wake_mail(); })();
  // Last, so neither the inbox nor the mail waits for the copy, and before
  // the next report writes, so that the log can start over.
  if (!stopped) reports.checkpoint();
  return steps;
}
}  // namespace

ReportStep run_report(ReportStage& reports, const InboxReport& report, PipelineEvents& events,
                      const std::atomic<bool>* stop) {
  auto steps = run_handled(reports, std::span<const InboxReport>(&report, 1), events, stop,
                           [&](const auto& loading) {
                             loading(report);
                             return std::vector<ReportStep>{reports.handle(report, stop)};
                           });
  return std::move(steps.front());
}

std::vector<ReportStep> run_reports(ReportStage& reports, std::span<const InboxReport> ready,
                                    PipelineEvents& events, const std::atomic<bool>* stop) {
  std::vector<ReportStep> steps;
  steps.reserve(ready.size());
  std::size_t i = 0;
  while (i < ready.size()) {
    std::size_t j = i;
    std::int64_t bytes = 0;
    while (j < ready.size() && j - i < ReportStage::kGroupReports) {
      const auto size = reports.group_bytes(ready[j]);
      if (!size || bytes + *size > ReportStage::kGroupTotalBytes) break;
      bytes += *size;
      ++j;
    }
    // A report alone takes the single path: inside a group each report is
    // a savepoint, whose journal SQLite writes to a temporary file (about
    // 0.6 MB for a six-row report), which costs a report alone more than
    // the commit it would save.
    if (j - i >= 2) {
      const auto group = ready.subspan(i, j - i);
      auto got = run_handled(reports, group, events, stop, [&](const auto& loading) {
        return reports.handle_group(group, stop, loading);
      });
      for (auto& step : got) steps.push_back(std::move(step));
      i = j;
    } else {
      steps.push_back(run_report(reports, ready[i], events, stop));
      ++i;
    }
  }
  return steps;
}

CheckStep run_catch_up(ReportStage& reports, PipelineEvents& events) {
  const CheckStep check = reports.check();
  guarded("checked", [&] { events.checked(check); })();
  guarded("wake mail", [&] { events.wake_mail(); })();
  return check;
}

MailStep run_mail(MailStage& mail, PipelineEvents& events, int limit,
                  const std::atomic<bool>* stop) {
  const MailStep step = mail.step(limit, stop);
  guarded("mailed", [&] { events.mailed(step); })();
  guarded("mail next", [&] { events.mail_at(step.next_at); })();
  return step;
}

void run_templates(TemplateStage& templates, PipelineEvents& events) {
  if (!templates.next_due()) return;
  std::optional<TimePoint> retry;
  guarded("templates", [&] {
    auto step = templates.process_due();
    if (!step) {
      spdlog::error("stock-count sheets: not queued, trying again in a minute: {}",
                    step.error().message());
      retry = templates.retry_at();
      return;
    }
    for (const std::string& store : step->skipped_stores) {
      spdlog::warn("stock-count sheets: store \"{}\" of a subscription has no items in the "
                   "inventory; no sheet for it", store);
    }
    if (step->handled) {
      spdlog::info("stock-count sheets for {}: {} message(s) queued",
                   format_utc(*step->handled, "%Y-%m-%d %H:%M UTC"), step->queued);
    }
    if (step->queued > 0) guarded("wake mail", [&] { events.wake_mail(); })();
  })();
  auto next = templates.next_due();
  if (!next) return;
  if (retry) next = std::min(*next, *retry);
  guarded("templates next", [&] { events.templates_at(*next); })();
}

void run_schedules(ExpectStage& expect, DigestStage& digests, PipelineEvents& events) {
  if (!expect.next_due() && !digests.next_due()) return;
  std::optional<TimePoint> retry;
  guarded("missing reports", [&] {
    auto step = expect.process_due();
    if (!step) {
      spdlog::error("missing reports: not checked, trying again in a minute: {}",
                    step.error().message());
      retry = expect.retry_at();
      return;
    }
    for (const auto& store : step->missing) spdlog::warn("missing report: store \"{}\" is past its deadline", store);
    for (const auto& store : step->escalated) {
      spdlog::warn("missing report: store \"{}\" is still past its deadline; escalated", store);
    }
    const auto found = static_cast<std::int64_t>(step->missing.size() + step->escalated.size());
    if (found > 0) {
      guarded("schedules events", [&] {
        events.scheduled(EventKind::kReportMissing, found, static_cast<std::int64_t>(step->queued));
      })();
    }
    if (step->queued > 0) guarded("wake mail", [&] { events.wake_mail(); })();
  })();
  guarded("digests", [&] {
    auto step = digests.process_due();
    if (!step) {
      spdlog::error("digests: not queued, trying again in a minute: {}", step.error().message());
      retry = digests.retry_at();
      return;
    }
    if (step->digests > 0) {
      spdlog::info("digests: {} handled ({} with nothing to report), {} message(s) queued",
                   step->digests, step->quiet, step->queued);
    }
    if (step->sent > 0) {
      guarded("schedules events", [&] {
        events.scheduled(EventKind::kDigest, static_cast<std::int64_t>(step->sent),
                         static_cast<std::int64_t>(step->queued));
      })();
    }
    if (step->queued > 0) guarded("wake mail", [&] { events.wake_mail(); })();
  })();
  std::optional<TimePoint> next = expect.next_due();
  if (auto d = digests.next_due(); d && (!next || *d < *next)) next = d;
  if (!next) return;
  if (retry) next = std::min(*next, *retry);
  guarded("schedules next", [&] { events.schedules_at(*next); })();
}

}  // namespace stockwatch
