// The pipeline's order, written once: what follows a handled report, when
// the checker runs, when the checkpoint runs, when the mail stage is woken
// and when it steps next. The daemon runs these steps on its strands and
// timers; tests run the same steps on one thread with a ManualClock.
//
// Contract:
// - run_report() tells the events that a ready report begins loading (not
//   when `stop` is already set: then it does not begin), takes it through
//   the ReportStage (load, archive, check), then, in this order: tells the events what was
//   handled and checked, tells the inbox what became of the report
//   (report_done, always, whatever happened), wakes the mail stage when the
//   checker queued messages, and only then checkpoints the database log, so
//   neither the inbox nor the mail waits for the copy. With `stop` set
//   nothing is loaded or checkpointed, and the inbox hears kRetry.
// - run_catch_up() runs the checker alone (what a restart left pending),
//   then wakes the mail stage, which sends what was queued before.
// - run_templates() takes one template stage step (on the report stage's
//   thread, whose connection it uses).
// - run_mail() takes one mail stage step and tells the events when the
//   next one is due (at or before now: at once).
// - Each runs on its stage's thread (run_report and run_catch_up on the
//   report stage's, run_mail on the mail stage's), and calls the events
//   there; the events decide how the news reaches the other threads (the
//   daemon posts it; a test calls through). An exception an event throws
//   is logged and the step goes on. No Asio, no sleeping.
#pragma once

#include <atomic>
#include <span>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "inbox/inbox.hpp"
#include "pipeline/digest_stage.hpp"
#include "pipeline/expect_stage.hpp"
#include "pipeline/mail_stage.hpp"
#include "pipeline/report_stage.hpp"
#include "pipeline/template_stage.hpp"

namespace stockwatch {

// What the steps tell their surroundings.
class PipelineEvents {
 public:
  virtual ~PipelineEvents() = default;
  // A report begins loading: it is past the last check of `stop` before
  // the loader, so a stop from now on cancels the load itself.
  virtual void loading(const InboxReport& /*report*/) {}
  // A report was handled (before the inbox is told): metrics, status.
  virtual void handled(const InboxReport& /*report*/, const ReportStep& /*step*/) {}
  // The checker ran (after a report, or at start).
  virtual void checked(const CheckStep& /*check*/) {}
  // Tell the inbox what became of a report it handed out.
  virtual void report_done(const std::string& relative, Disposition disposition) = 0;
  // Messages may be due: the mail stage should step now.
  virtual void wake_mail() = 0;
  // The mail stage stepped: metrics, status.
  virtual void mailed(const MailStep& /*step*/) {}
  // The mail stage's next step is due at `at` (at or before now: at once).
  virtual void mail_at(TimePoint at) = 0;
  // The template stage's next step is due at `at`.
  virtual void templates_at(TimePoint /*at*/) {}
  // The expect and digest stages' next step is due at `at`.
  virtual void schedules_at(TimePoint /*at*/) {}
  // The expect or digest stage found `found` events of `event`
  // (report_missing: stores alerted or escalated; digest: digests sent)
  // and queued `messages` for them: metrics.
  virtual void scheduled(EventKind /*event*/, std::int64_t /*found*/, std::int64_t /*messages*/) {}
};

ReportStep run_report(ReportStage& reports, const InboxReport& report, PipelineEvents& events,
                      const std::atomic<bool>* stop = nullptr);
// Reports ready at once, in their order: each run of small ones
// (ReportStage::group_bytes, at most kGroupReports and kGroupTotalBytes) through
// ReportStage::handle_group, with the events as run_report() tells them
// (each report's in turn, the checker's run once per group, one wake of the
// mail stage, one checkpoint), anything else through run_report(). One step
// per report, in the same order.
std::vector<ReportStep> run_reports(ReportStage& reports, std::span<const InboxReport> ready,
                                    PipelineEvents& events,
                                    const std::atomic<bool>* stop = nullptr);
CheckStep run_catch_up(ReportStage& reports, PipelineEvents& events);
MailStep run_mail(MailStage& mail, PipelineEvents& events, int limit = 100,
                  const std::atomic<bool>* stop = nullptr);
// One template stage step: logs what it queued (or why it could not), wakes
// the mail stage when it queued messages, and tells the events when the
// next step is due (the next scheduled time; a minute on after a failure).
// Nothing when no schedule is set.
void run_templates(TemplateStage& templates, PipelineEvents& events);
// One step of the expect stage (missing reports) and then the digest stage,
// on the report stage's thread: logs, wakes the mail stage when either
// queued messages, and tells the events when the next step is due (a
// minute on after a failure), and what each found (scheduled()). Nothing
// when neither has work.
void run_schedules(ExpectStage& expect, DigestStage& digests, PipelineEvents& events);

}  // namespace stockwatch
