// The pipeline, stepped on one thread: take a ready report, load it,
// archive it, check it, queue its alerts, wake the mail stage.
//
// Contract:
// - process_due(now) does everything due at `now`, in the daemon's order:
//   the inbox's events (when it watches with inotify) and its due work;
//   each report it hands out through the ReportStage, the inbox told what
//   became of it, then a checkpoint; then the MailStage, when a report
//   queued messages or its time has come. It returns what it did.
// - next_wakeup() is when process_due() has work next (the inbox's next
//   settle, poll or rescan, or the mail stage's next step); an inotify
//   event can bring work earlier.
// - The stages and the inbox are borrowed and must outlive the Pipeline.
//   No Asio, no sleeping, no threads: a test drives it with a ManualClock.
//   The daemon (src/daemon/) runs the same stages, each on its own thread.
// - Not thread-safe.
#pragma once

#include <optional>

#include "base/clock.hpp"
#include "inbox/inbox.hpp"
#include "pipeline/mail_stage.hpp"
#include "pipeline/report_stage.hpp"

namespace stockwatch {

struct PipelineStep {
  int reports = 0;   // reports handed to the report stage
  int queued = 0;    // messages the checker queued
  bool mailed = false;   // the mail stage stepped
  int sent = 0;
  int retried = 0;
  int dead = 0;
};

class Pipeline {
 public:
  Pipeline(Inbox& inbox, ReportStage& reports, MailStage& mail, const Clock& clock);

  // Runs the checker and the mail stage once: what a restart left pending.
  PipelineStep start();
  PipelineStep process_due(TimePoint now);
  [[nodiscard]] std::optional<TimePoint> next_wakeup() const;

 private:
  void mail_if_due(TimePoint now, PipelineStep& step);

  Inbox& inbox_;
  ReportStage& reports_;
  MailStage& mail_;
  const Clock& clock_;
  TimePoint mail_at_{};   // the mail stage's next step
};

}  // namespace stockwatch
