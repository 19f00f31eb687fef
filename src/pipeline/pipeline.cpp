#include "pipeline/pipeline.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "base/guard.hpp"

namespace stockwatch {

ReportStep run_report(ReportStage& reports, const InboxReport& report, PipelineEvents& events,
                      const std::atomic<bool>* stop) {
  const bool stopped = stop && stop->load();
  ReportStep step;   // kRetry unless handled
  if (!stopped) {
    guarded("report loading", [&] { events.loading(report); })();
    guarded("report", [&] { step = reports.handle(report, stop); })();
    guarded("report handled", [&] {
      events.handled(report, step);
      events.checked(step.check);
    })();
  }
  // The inbox hears what became of the report whatever happened above.
  guarded("report done", [&] { events.report_done(report.relative, step.disposition); })();
  if (step.check.queued > 0) guarded("wake mail", [&] { events.wake_mail(); })();
  // Last, so neither the inbox nor the mail waits for the copy, and before
  // the next report writes, so that the log can start over.
  if (!stopped) reports.checkpoint();
  return step;
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

}  // namespace stockwatch
