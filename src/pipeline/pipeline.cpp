#include "pipeline/pipeline.hpp"

#include <algorithm>

namespace stockwatch {

Pipeline::Pipeline(Inbox& inbox, ReportStage& reports, MailStage& mail, const Clock& clock)
    : inbox_(inbox), reports_(reports), mail_(mail), clock_(clock) {}

PipelineStep Pipeline::start() {
  PipelineStep step;
  step.queued = reports_.check().queued;
  mail_at_ = clock_.now();
  mail_if_due(clock_.now(), step);
  return step;
}

PipelineStep Pipeline::process_due(TimePoint now) {
  PipelineStep step;
  if (inbox_.fd() >= 0) inbox_.handle_events();
  inbox_.process_due(now);
  for (const auto& report : inbox_.take_ready()) {
    ++step.reports;
    const ReportStep handled = reports_.handle(report);
    inbox_.done(report.relative, handled.disposition);
    reports_.checkpoint();
    step.queued += handled.check.queued;
  }
  if (step.queued > 0) mail_at_ = std::min(mail_at_, now);
  mail_if_due(now, step);
  return step;
}

void Pipeline::mail_if_due(TimePoint now, PipelineStep& step) {
  // Steps until nothing more is due now, as the daemon posts the next step
  // at once when more is due.
  while (mail_at_ <= now) {
    const MailStep m = mail_.step();
    step.mailed = true;
    step.sent += m.sent.sent;
    step.retried += m.sent.retried;
    step.dead += m.sent.dead;
    mail_at_ = m.next_at;
    if (!m.ok || (m.sent.sent + m.sent.retried + m.sent.dead) == 0) break;
  }
}

std::optional<TimePoint> Pipeline::next_wakeup() const {
  const auto inbox = inbox_.next_wakeup();
  return inbox ? std::min(*inbox, mail_at_) : mail_at_;
}

}  // namespace stockwatch
