// The stepped pipeline: a real inbox folder (inotify), a real SQLite file,
// the real loader, archive, checker and mailer, a scripted transport and a
// ManualClock. The test runs the pipeline's steps, the ones the daemon runs
// (run_catch_up, run_report, run_mail), on one thread; nothing sleeps.
#include "pipeline/pipeline.hpp"

#include "inbox/arrivals.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "scripted_transport.hpp"
#include "test_util.hpp"

namespace stockwatch {
namespace {

using namespace std::chrono_literals;
using test::files_under;
using test::ScriptedTransport;
using test::TempDir;
using test::write_file;

constexpr const char* kOwner = "owner@example.com";

// What one round of steps did.
struct PipelineStep {
  int reports = 0;       // reports handed to run_report
  int queued = 0;        // messages the checker queued
  bool mailed = false;   // run_mail ran
  int sent = 0;
  int retried = 0;
  int dead = 0;
};

// What the daemon's event loop, strands and timers do, on one thread: the
// inbox's events and due work, each ready report through run_report, then
// run_mail whenever it is due. What happens after each step, and when the
// mail stage steps next, comes from the steps themselves, as in the daemon.
class OneThread final : public PipelineEvents {
 public:
  OneThread(Inbox& inbox, ReportStage& reports, MailStage& mail, const Clock& clock)
      : inbox_(inbox), reports_(reports), mail_(mail), clock_(clock) {}

  PipelineStep start() {
    PipelineStep step;
    step.queued = run_catch_up(reports_, *this).queued;
    mail_if_due(clock_.now(), step);
    return step;
  }

  PipelineStep process_due(TimePoint now) {
    PipelineStep step;
    if (inbox_.fd() >= 0) inbox_.handle_events();
    inbox_.process_due(now);
    const std::vector<InboxReport> ready = inbox_.take_ready();
    step.reports += static_cast<int>(ready.size());
    if (one_at_a_time) {
      for (const auto& report : ready) {
        step.queued += run_report(reports_, report, *this, &stop).check.queued;
      }
    } else {
      // As the daemon does: what is ready at once goes together.
      for (const auto& s : run_reports(reports_, ready, *this, &stop)) step.queued += s.check.queued;
    }
    mail_if_due(now, step);
    return step;
  }

  // The inbox's next settle, poll or rescan, or the mail stage's next step.
  [[nodiscard]] std::optional<TimePoint> next_wakeup() const {
    const auto inbox = inbox_.next_wakeup();
    if (!mail_at_) return inbox;
    return inbox ? std::min(*inbox, *mail_at_) : *mail_at_;
  }

  // The order the steps told things in, for the tests of that order.
  std::vector<std::string> told;
  // What the daemon sets at shutdown.
  std::atomic<bool> stop{false};
  // Each ready report through run_report alone, as before reports were
  // taken together (the reference the grouped run is held to).
  bool one_at_a_time = false;
  // Sets `stop` as this report begins loading (empty: never).
  std::string stop_at;

  void loading(const InboxReport& report) override {
    told.push_back("loading " + report.relative);
    if (report.relative == stop_at) stop = true;
  }
  void report_done(const std::string& relative, Disposition d) override {
    told.push_back("done " + relative);
    inbox_.done(relative, d);
  }
  void wake_mail() override {
    told.push_back("wake mail");
    const TimePoint now = clock_.now();
    mail_at_ = mail_at_ ? std::min(*mail_at_, now) : now;
  }
  void mail_at(TimePoint at) override { mail_at_ = at; }

 private:
  void mail_if_due(TimePoint now, PipelineStep& step) {
    // The daemon posts the next step at once when more is due; here that
    // repeats until nothing more is sent, and the rest waits for the next
    // round.
    while (mail_at_ && *mail_at_ <= now) {
      mail_at_.reset();
      const MailStep m = run_mail(mail_, *this);
      step.mailed = true;
      step.sent += m.sent.sent;
      step.retried += m.sent.retried;
      step.dead += m.sent.dead;
      if (!m.ok || (m.sent.sent + m.sent.retried + m.sent.dead) == 0) break;
    }
  }

  Inbox& inbox_;
  ReportStage& reports_;
  MailStage& mail_;
  const Clock& clock_;
  std::optional<TimePoint> mail_at_;   // when the mail stage steps next
};

// What a step did: reports handled, messages queued, messages sent.
void expect_step(const PipelineStep& s, int reports, int queued, int sent) {
  EXPECT_EQ(s.reports, reports);
  EXPECT_EQ(s.queued, queued);
  EXPECT_EQ(s.sent, sent);
}

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.storage.database = dir_ / "stockwatch.db";
    config_.inbox.path = dir_ / "inbox";
    config_.inbox.processed = dir_ / "processed";
    config_.inbox.failed = dir_ / "failed";
    config_.inbox.mode = "inotify";
    config_.inbox.settle_ms = 1000;
    config_.inbox.rescan_interval_s = 0;
    config_.alerts.subscriptions.push_back(Subscription{{kOwner}, {}, {}});
    policy_.jitter = 0;   // retries at exactly 5 s, 10 s, ...
    std::filesystem::create_directories(config_.inbox.path);
  }

  // What the daemon sets up at start: the inbox, two connections, the stages.
  void start() {
    StorageOptions loading;
    loading.defer_maintenance = true;
    loading.busy_timeout_ms = busy_timeout_ms_;
    db_ = Storage::open(config_.storage.database, loading, clock_);
    mail_db_ = Storage::open(config_.storage.database, {}, clock_);
    inbox_ = std::make_unique<Inbox>(config_.inbox, clock_,
                                     [](const std::filesystem::path&) { return Writers::kNone; });
    ASSERT_TRUE(inbox_->start().ok());
    reports_ = std::make_unique<ReportStage>(*db_, clock_, loader_options(config_), config_.alerts,
                                             archive_options(config_));
    mail_ = std::make_unique<MailStage>(*mail_db_, transport_, clock_, policy_, 1);
    pipeline_ = std::make_unique<OneThread>(*inbox_, *reports_, *mail_, clock_);
    first_ = pipeline_->start();
  }

  PipelineStep step() { return pipeline_->process_due(clock_.now()); }

  OutboxCounts counts() {
    auto c = mail_db_->outbox_counts();
    EXPECT_TRUE(c);
    return c ? *c : OutboxCounts{};
  }

  // The ledger's one entry (a failure when there is not exactly one).
  ReportRecord only_report() {
    auto ledger = db_->recent_reports(10);
    EXPECT_TRUE(ledger);
    EXPECT_EQ(ledger ? ledger->size() : 0u, 1u);
    return ledger && ledger->size() == 1 ? ledger->front() : ReportRecord{};
  }

  void drop(const std::string& name, const std::string& text) {
    write_file(config_.inbox.path / name, text);
  }

  TempDir dir_{"pipeline"};
  int busy_timeout_ms_ = 5000;   // the loading connection's
  ManualClock clock_;
  Config config_;
  RetryPolicy policy_;
  ScriptedTransport transport_;
  std::unique_ptr<Storage> db_, mail_db_;
  std::unique_ptr<Inbox> inbox_;
  std::unique_ptr<ReportStage> reports_;
  std::unique_ptr<MailStage> mail_;
  std::unique_ptr<OneThread> pipeline_;
  PipelineStep first_;
};

TEST_F(PipelineTest, AReportPlacedIsLoadedArchivedAndAlertedInOneStep) {
  start();
  EXPECT_EQ(first_.queued, 0);
  drop("medan.csv", "store,item,count\nMedan,Kopi Gayo,0\nMedan,Teh,4\n");

  expect_step(step(), 1, 1, 1);
  EXPECT_TRUE(files_under(config_.inbox.path).empty());
  EXPECT_EQ(files_under(config_.inbox.processed), std::vector<std::string>{"medan.csv"});
  ASSERT_EQ(transport_.calls.size(), 1u);
  EXPECT_EQ(transport_.calls[0].to, kOwner);
  EXPECT_NE(transport_.calls[0].data.find("Kopi Gayo"), std::string::npos);
  EXPECT_EQ(only_report().archived_path, (config_.inbox.processed / "medan.csv").string());
  EXPECT_EQ(counts().sent, 1);

  // Nothing more to do: a second step does nothing.
  const PipelineStep again = step();
  EXPECT_EQ(again.reports, 0);
  EXPECT_FALSE(again.mailed);
  EXPECT_EQ(transport_.calls.size(), 1u);
}

TEST_F(PipelineTest, AFailedSendIsRetriedWhenItsBackoffEnds) {
  start();
  transport_.script(SendOutcome::Kind::kTransient, 451, "451 try again later");
  const TimePoint t0 = clock_.now();
  drop("medan.csv", "store,item,count\nMedan,Kopi Gayo,0\n");

  const PipelineStep s = step();
  EXPECT_EQ(s.queued, 1);
  EXPECT_EQ(s.sent, 0);
  EXPECT_EQ(s.retried, 1);
  EXPECT_EQ(pipeline_->next_wakeup(), t0 + policy_.initial);

  clock_.advance(policy_.initial - 1ms);
  EXPECT_FALSE(step().mailed);
  EXPECT_EQ(transport_.calls.size(), 1u);

  clock_.advance(1ms);
  const PipelineStep retry = step();
  EXPECT_TRUE(retry.mailed);
  EXPECT_EQ(retry.sent, 1);
  EXPECT_EQ(transport_.calls.size(), 2u);
  EXPECT_EQ(transport_.calls[0].data, transport_.calls[1].data);
  EXPECT_EQ(counts().queued, 0);
}

TEST_F(PipelineTest, MailQueuedByAnotherProcessIsSentAtTheRecheck) {
  start();
  const TimePoint t0 = clock_.now();
  EXPECT_EQ(pipeline_->next_wakeup(), t0 + MailStage::kRecheck);

  // `stockwatch ingest` beside the daemon: its own connection queues a message.
  {
    auto other = Storage::open(config_.storage.database, {}, clock_);
    LoaderOptions once = loader_options(config_);
    once.resume = false;
    once.confine_to.clear();
    write_file(dir_ / "elsewhere.csv", "store,item,count\nMakassar,Arabika,0\n");
    Loader loader(*other, clock_, once);
    ASSERT_TRUE(loader.load(dir_ / "elsewhere.csv", "elsewhere.csv"));
    Checker checker(*other, clock_, config_.alerts);
    auto queued = checker.process_due();
    ASSERT_TRUE(queued);
    ASSERT_EQ(*queued, 1);
  }

  clock_.advance(MailStage::kRecheck - 1ms);
  EXPECT_FALSE(step().mailed);
  EXPECT_TRUE(transport_.calls.empty());

  clock_.advance(1ms);
  EXPECT_EQ(step().sent, 1);
  ASSERT_EQ(transport_.calls.size(), 1u);
  EXPECT_NE(transport_.calls[0].data.find("Arabika"), std::string::npos);
}

TEST_F(PipelineTest, ARejectedReportGoesToFailedWithItsErrorsAndItsAlert) {
  start();
  drop("bad.csv", "store,item,count\nMedan,Kopi Gayo,many\n");

  expect_step(step(), 1, 1, 1);
  EXPECT_TRUE(files_under(config_.inbox.processed).empty());
  EXPECT_EQ(files_under(config_.inbox.failed),
            (std::vector<std::string>{"bad.csv", "bad.csv.error.txt"}));
  EXPECT_NE(test::read_file(config_.inbox.failed / "bad.csv.error.txt").find("line 2"),
            std::string::npos);
  ASSERT_EQ(transport_.calls.size(), 1u);
  EXPECT_NE(transport_.calls[0].data.find("bad.csv"), std::string::npos);
  EXPECT_EQ(only_report().status, ReportStatus::kRejected);
}

TEST_F(PipelineTest, TheLedgerSaysHowEachReportArrivedAndTheNoteIsThenForgotten) {
  start();
  Arrivals arrivals;
  reports_->set_arrivals(&arrivals);
  // Noted before it is placed, as the S3 endpoint and the mailbox do; a
  // report nobody noted came through the folder; a placing that failed is
  // forgotten.
  arrivals.expect("s3-medan.csv", Arrivals::kS3);
  arrivals.expect("bad.csv", Arrivals::kBrowser);
  arrivals.expect("never.csv", Arrivals::kEmail);
  arrivals.forget("never.csv");
  EXPECT_EQ(arrivals.of("never.csv"), Arrivals::kFolder);
  drop("s3-medan.csv", "store,item,count\nMedan,Kopi Gayo,0\n");
  drop("bad.csv", "store,item,count\nMedan,Kopi Gayo,many\n");
  drop("makassar.csv", "store,item,count\nMakassar,Kalosi,3\n");
  EXPECT_EQ(step().reports, 3);
  auto ledger = db_->recent_reports(10);
  ASSERT_TRUE(ledger.ok());
  ASSERT_EQ(ledger->size(), 3u);
  std::map<std::string, std::string> by;
  for (const auto& r : *ledger) by[r.path] = r.arrived_by;
  EXPECT_EQ(by, (std::map<std::string, std::string>{
                    {"s3-medan.csv", "s3"}, {"bad.csv", "browser"}, {"makassar.csv", "folder"}}));
  // Handled: the notes are gone, so a later file under the same name is the folder's.
  EXPECT_EQ(arrivals.of("s3-medan.csv"), Arrivals::kFolder);
  EXPECT_EQ(arrivals.of("bad.csv"), Arrivals::kFolder);
}

TEST_F(PipelineTest, AReportLoadedButNotArchivedBeforeARestartIsArchivedAndAlertedOnce) {
  const std::string text = "store,item,count\nMedan,Kopi Gayo,0\n";
  drop("medan.csv", text);
  {
    // The previous run: loaded, then stopped before archiving and checking.
    auto before = Storage::open(config_.storage.database, {}, clock_);
    Loader loader(*before, clock_, loader_options(config_));
    auto loaded = loader.load(config_.inbox.path / "medan.csv", "medan.csv");
    ASSERT_TRUE(loaded);
    ASSERT_EQ(loaded->status, ReportStatus::kLoaded);
  }

  // The restart: the checker catches up at once, and the report is found
  // by the start-up scan and archived once it has settled.
  start();
  EXPECT_EQ(first_.queued, 1);
  EXPECT_EQ(first_.sent, 1);
  EXPECT_EQ(step().reports, 0);
  clock_.advance(std::chrono::milliseconds(config_.inbox.settle_ms));
  const PipelineStep s = step();
  EXPECT_EQ(s.reports, 1);
  EXPECT_EQ(s.queued, 0);
  EXPECT_EQ(files_under(config_.inbox.processed), std::vector<std::string>{"medan.csv"});
  EXPECT_TRUE(files_under(config_.inbox.path).empty());
  EXPECT_FALSE(only_report().archived_path.empty());
  EXPECT_EQ(transport_.calls.size(), 1u);
  EXPECT_EQ(counts().sent, 1);
}

TEST_F(PipelineTest, AThrowingSendIsLoggedAndTheNextStepDelivers) {
  start();
  transport_.script_throw("statement could not be prepared");
  test::LogCapture log;
  drop("medan.csv", "store,item,count\nMedan,Kopi Gayo,0\n");

  const PipelineStep s = step();
  EXPECT_EQ(s.queued, 1);
  EXPECT_EQ(s.sent, 0);
  EXPECT_NE(log.text().find("mailer: statement could not be prepared"), std::string::npos)
      << log.text();
  EXPECT_EQ(pipeline_->next_wakeup(), clock_.now() + MailStage::kAfterError);

  clock_.advance(MailStage::kAfterError);
  EXPECT_EQ(step().sent, 1);
  EXPECT_EQ(counts().queued, 0);
}

TEST_F(PipelineTest, NewReportSettingsReachTheLoader) {
  start();
  drop("a.csv", "cabang,item,count\nMedan,Kopi Gayo,3\n");
  step();
  EXPECT_EQ(files_under(config_.inbox.failed),
            (std::vector<std::string>{"a.csv", "a.csv.error.txt"}));

  Config reloaded = config_;
  reloaded.report.aliases.store.push_back("cabang");
  reports_->set_loader_options(loader_options(reloaded));
  drop("b.csv", "cabang,item,count\nMedan,Kopi Gayo,3\n");
  step();
  EXPECT_EQ(files_under(config_.inbox.processed), std::vector<std::string>{"b.csv"});
}

TEST_F(PipelineTest, ArchiveModeDeleteFromAReloadRemovesTheNextReport) {
  start();
  Config reloaded = config_;
  reloaded.inbox.archive = "delete";
  reports_->set_archive(archive_options(reloaded));
  drop("a.csv", "store,item,count\nMedan,Kopi Gayo,3\n");
  EXPECT_EQ(step().reports, 1);
  EXPECT_TRUE(files_under(config_.inbox.path).empty());
  EXPECT_TRUE(files_under(config_.inbox.processed).empty());
  EXPECT_EQ(only_report().archived_path, ReportStage::kDeletedMarker);
}

TEST_F(PipelineTest, AfterAReportTheInboxIsToldFirstThenTheMailIsWoken) {
  start();
  pipeline_->told.clear();   // the start wakes the mail stage
  drop("quiet.csv", "store,item,count\nMedan,Teh,4\n");
  expect_step(step(), 1, 0, 0);
  EXPECT_EQ(pipeline_->told, (std::vector<std::string>{"loading quiet.csv", "done quiet.csv"}));

  pipeline_->told.clear();
  drop("medan.csv", "store,item,count\nMedan,Kopi Gayo,0\n");
  expect_step(step(), 1, 1, 1);
  EXPECT_EQ(pipeline_->told,
            (std::vector<std::string>{"loading medan.csv", "done medan.csv", "wake mail"}));
}

TEST_F(PipelineTest, AReportTakenAfterStopIsNotLoadedAndIsTakenAgainLater) {
  start();
  drop("medan.csv", "store,item,count\nMedan,Kopi Gayo,0\n");
  pipeline_->stop = true;
  pipeline_->told.clear();
  expect_step(step(), 1, 0, 0);
  // Not announced as loading: the status never names a report that is skipped.
  EXPECT_EQ(pipeline_->told, std::vector<std::string>{"done medan.csv"});
  EXPECT_EQ(files_under(config_.inbox.path), std::vector<std::string>{"medan.csv"});
  auto ledger = db_->recent_reports(10);
  ASSERT_TRUE(ledger);
  EXPECT_TRUE(ledger->empty());

  // kRetry: the inbox hands it out again after its delay.
  pipeline_->stop = false;
  for (int i = 0; i < 20 && files_under(config_.inbox.processed).empty(); ++i) {
    clock_.advance(1s);
    step();
  }
  EXPECT_EQ(files_under(config_.inbox.processed), std::vector<std::string>{"medan.csv"});
  EXPECT_EQ(transport_.calls.size(), 1u);
}


// Four reports ready at once: a shortage, a rejected report, a copy of the
// first, a quiet one. Taken together or one at a time, each ends the same.
class ReadyTogetherTest : public PipelineTest, public ::testing::WithParamInterface<bool> {
 protected:
  void drop_four() {
    drop("a-medan.csv", "store,item,count\nMedan,Kopi Gayo,0\nMedan,Teh,4\n");
    drop("b-bad.csv", "store,item,count\nMedan,Kopi Gayo,many\n");
    drop("c-copy.csv", "store,item,count\nMedan,Kopi Gayo,0\nMedan,Teh,4\n");
    drop("d-makassar.csv", "store,item,count\nMakassar,Kalosi,3\n");
  }
};

TEST_P(ReadyTogetherTest, EachReportEndsAsItWouldAlone) {
  start();
  pipeline_->one_at_a_time = GetParam();
  pipeline_->told.clear();
  drop_four();
  // One shortage alert and one rejection: the copy and the quiet report
  // alert nobody.
  expect_step(step(), 4, 2, 2);
  EXPECT_TRUE(files_under(config_.inbox.path).empty());
  EXPECT_EQ(files_under(config_.inbox.processed),
            (std::vector<std::string>{"a-medan.csv", "c-copy.csv", "d-makassar.csv"}));
  EXPECT_EQ(files_under(config_.inbox.failed),
            (std::vector<std::string>{"b-bad.csv", "b-bad.csv.error.txt"}));
  auto ledger = db_->recent_reports(10);
  ASSERT_TRUE(ledger.ok());
  ASSERT_EQ(ledger->size(), 4u);
  std::map<std::string, ReportRecord> by;
  for (const auto& r : *ledger) by[r.path] = r;
  EXPECT_EQ(by["a-medan.csv"].status, ReportStatus::kLoaded);
  EXPECT_EQ(by["b-bad.csv"].status, ReportStatus::kRejected);
  EXPECT_EQ(by["c-copy.csv"].status, ReportStatus::kDuplicate);
  EXPECT_EQ(by["c-copy.csv"].duplicate_of, std::optional<std::int64_t>(by["a-medan.csv"].id));
  EXPECT_EQ(by["d-makassar.csv"].status, ReportStatus::kLoaded);
  EXPECT_EQ(by["a-medan.csv"].archived_path, (config_.inbox.processed / "a-medan.csv").string());
  EXPECT_EQ(by["b-bad.csv"].archived_path, (config_.inbox.failed / "b-bad.csv").string());
  EXPECT_EQ(by["c-copy.csv"].archived_path, (config_.inbox.processed / "c-copy.csv").string());
  EXPECT_EQ(by["d-makassar.csv"].archived_path,
            (config_.inbox.processed / "d-makassar.csv").string());
  ASSERT_EQ(transport_.calls.size(), 2u);
  EXPECT_EQ(counts().sent, 2);
  if (!GetParam()) {
    // Together: each begins loading in turn, the inbox hears of each, the
    // mail stage is woken once.
    EXPECT_EQ(pipeline_->told,
              (std::vector<std::string>{"loading a-medan.csv", "loading b-bad.csv",
                                        "loading c-copy.csv", "loading d-makassar.csv",
                                        "done a-medan.csv", "done b-bad.csv", "done c-copy.csv",
                                        "done d-makassar.csv", "wake mail"}));
  }
  // A restart finds nothing left to do.
  pipeline_.reset();
  mail_.reset();
  reports_.reset();
  inbox_.reset();
  mail_db_.reset();
  db_.reset();
  start();
  EXPECT_EQ(first_.queued, 0);
  EXPECT_EQ(step().reports, 0);
  EXPECT_EQ(transport_.calls.size(), 2u);
}

TEST_P(ReadyTogetherTest, AStopMidwayKeepsWhatWasLoadedAndTheRestComesBack) {
  start();
  pipeline_->one_at_a_time = GetParam();
  pipeline_->stop_at = "d-makassar.csv";
  drop_four();
  expect_step(step(), 4, 2, 2);
  // The first three are done (the copy is known by its content before
  // anything is read); the last one's load was cancelled, nothing of it kept.
  EXPECT_EQ(files_under(config_.inbox.path), std::vector<std::string>{"d-makassar.csv"});
  EXPECT_EQ(files_under(config_.inbox.processed),
            (std::vector<std::string>{"a-medan.csv", "c-copy.csv"}));
  auto ledger = db_->recent_reports(10);
  ASSERT_TRUE(ledger.ok());
  EXPECT_EQ(ledger->size(), 3u);
  EXPECT_FALSE(db_->count_of("Makassar", "Kalosi")->has_value());

  pipeline_->stop_at.clear();
  pipeline_->stop = false;
  for (int i = 0; i < 20 && !files_under(config_.inbox.path).empty(); ++i) {
    clock_.advance(1s);
    step();
  }
  EXPECT_TRUE(files_under(config_.inbox.path).empty());
  EXPECT_EQ(files_under(config_.inbox.processed),
            (std::vector<std::string>{"a-medan.csv", "c-copy.csv", "d-makassar.csv"}));
  ledger = db_->recent_reports(10);
  ASSERT_TRUE(ledger.ok());
  EXPECT_EQ(ledger->size(), 4u);
  EXPECT_EQ(transport_.calls.size(), 2u);
}

TEST_P(ReadyTogetherTest, InDeleteModeEachIsRemovedAndItsRejectionKept) {
  config_.inbox.archive = "delete";
  start();
  pipeline_->one_at_a_time = GetParam();
  drop_four();
  expect_step(step(), 4, 2, 2);
  EXPECT_TRUE(files_under(config_.inbox.path).empty());
  EXPECT_TRUE(files_under(config_.inbox.processed).empty());
  EXPECT_EQ(files_under(config_.inbox.failed), std::vector<std::string>{"b-bad.csv.error.txt"});
  auto ledger = db_->recent_reports(10);
  ASSERT_TRUE(ledger.ok());
  ASSERT_EQ(ledger->size(), 4u);
  for (const auto& r : *ledger) EXPECT_EQ(r.archived_path, ReportStage::kDeletedMarker) << r.path;
}

TEST_F(PipelineTest, WhileAnotherProcessHoldsTheWriteLockReportsWaitAndAreLoadedOnceAfter) {
  busy_timeout_ms_ = 50;
  start();
  // Another process (`stockwatch ingest`, say) holds the write lock.
  auto other = Storage::open(config_.storage.database, {}, clock_);
  auto held = other->begin_report();
  ASSERT_TRUE(held.ok());
  pipeline_->told.clear();
  drop("a-medan.csv", "store,item,count\nMedan,Kopi Gayo,0\n");
  drop("b-makassar.csv", "store,item,count\nMakassar,Kalosi,3\n");
  expect_step(step(), 2, 0, 0);
  // Nothing began loading; each waits to be tried again.
  EXPECT_EQ(pipeline_->told,
            (std::vector<std::string>{"done a-medan.csv", "done b-makassar.csv"}));
  EXPECT_EQ(files_under(config_.inbox.path),
            (std::vector<std::string>{"a-medan.csv", "b-makassar.csv"}));

  held->rollback();
  for (int i = 0; i < 20 && !files_under(config_.inbox.path).empty(); ++i) {
    clock_.advance(1s);
    step();
  }
  EXPECT_EQ(files_under(config_.inbox.processed),
            (std::vector<std::string>{"a-medan.csv", "b-makassar.csv"}));
  auto ledger = db_->recent_reports(10);
  ASSERT_TRUE(ledger.ok());
  EXPECT_EQ(ledger->size(), 2u);
  EXPECT_EQ(transport_.calls.size(), 1u);
}

TEST_F(PipelineTest, ALargeReportAmongSmallOnesIsLoadedAloneAndTheOrderKept) {
  start();
  pipeline_->told.clear();
  std::string big = "store,item,count\n";
  for (int i = 0; big.size() <= static_cast<std::size_t>(ReportStage::kGroupBytes); ++i) {
    big += "Bandung,item-" + std::to_string(i) + ",5\n";
  }
  drop("a-medan.csv", "store,item,count\nMedan,Teh,4\n");
  drop("b-makassar.csv", "store,item,count\nMakassar,Kalosi,3\n");
  drop("c-bandung.csv", big);
  drop("d-surabaya.csv", "store,item,count\nSurabaya,Gula,2\n");
  drop("e-bali.csv", "store,item,count\nBali,Kopi,1\n");
  expect_step(step(), 5, 0, 0);
  // Two groups around the large report, each told in turn, in the inbox's order.
  EXPECT_EQ(pipeline_->told,
            (std::vector<std::string>{"loading a-medan.csv", "loading b-makassar.csv",
                                      "done a-medan.csv", "done b-makassar.csv",
                                      "loading c-bandung.csv", "done c-bandung.csv",
                                      "loading d-surabaya.csv", "loading e-bali.csv",
                                      "done d-surabaya.csv", "done e-bali.csv"}));
  EXPECT_TRUE(files_under(config_.inbox.path).empty());
  auto ledger = db_->recent_reports(10);
  ASSERT_TRUE(ledger.ok());
  ASSERT_EQ(ledger->size(), 5u);
  for (const auto& r : *ledger) {
    EXPECT_EQ(r.status, ReportStatus::kLoaded) << r.path;
    EXPECT_FALSE(r.archived_path.empty()) << r.path;
  }
}

INSTANTIATE_TEST_SUITE_P(Pipeline, ReadyTogetherTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "OneAtATime" : "Together";
                         });

}  // namespace
}  // namespace stockwatch
