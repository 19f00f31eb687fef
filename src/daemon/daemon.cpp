#include "daemon/daemon.hpp"


#include <spdlog/spdlog.h>

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <csignal>
#include <deque>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <utility>
#include <vector>

#include "base/guard.hpp"
#include "daemon/folders.hpp"
#include "daemon/metrics.hpp"
#include "daemon/reload.hpp"
#include "daemon/status.hpp"
#include "http/http_service.hpp"
#include "inbox/arrivals.hpp"
#include "inbox/inbox.hpp"
#include "mailbox/imap_client.hpp"
#include "mailbox/mailbox_stage.hpp"
#include "notify/transport.hpp"
#include "os/systemd_notify.hpp"
#include "os/unique_fd.hpp"
#include "pipeline/mail_stage.hpp"
#include "notify/channel.hpp"
#include "pipeline/pipeline.hpp"
#include "pipeline/report_stage.hpp"
#include "store/outbox_signal.hpp"
#include "store/storage.hpp"

namespace stockwatch {

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

// Local midnight of the day `t` falls in.
TimePoint local_midnight(TimePoint t) {
  const std::time_t now = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  localtime_r(&now, &tm);
  tm.tm_hour = 0;
  tm.tm_min = 0;
  tm.tm_sec = 0;
  tm.tm_isdst = -1;
  return std::chrono::system_clock::from_time_t(std::mktime(&tm));
}

}  // namespace

// The daemon runs the pipeline's steps (src/pipeline/pipeline.hpp), each on
// its thread: reports on the db strand, mail on the mail strand; the event
// loop keeps the inbox. As their PipelineEvents it only carries the steps'
// news to the other threads and to the metrics and status.
struct Daemon::Impl final : PipelineEvents {
  // The running configuration; the loop thread's (reloads replace it).
  Config config;
  std::string inbox_claimant;  // a shared inbox's: this node's name and pid
  const Clock& clock;
  asio::io_context ioc;
  asio::thread_pool workers{2};
  asio::strand<asio::thread_pool::executor_type> db_strand{asio::make_strand(workers)};
  asio::strand<asio::thread_pool::executor_type> mail_strand{asio::make_strand(workers)};
  std::atomic<bool> stopping{false};

  // Loop-thread state.
  Inbox inbox;
  asio::posix::stream_descriptor inotify_sd{ioc};
  asio::steady_timer inbox_timer{ioc};
  asio::signal_set signals{ioc, SIGINT, SIGTERM};
  asio::signal_set reload_signal{ioc, SIGHUP};
  // WATCHDOG=1 at half the interval systemd expects (WatchdogSec=).
  asio::steady_timer watchdog_timer{ioc};
  std::chrono::microseconds watchdog_period{0};
  // Reports the db strand is done with, for the loop thread's inbox, and the
  // eventfd that wakes the loop for them. Not asio::post: a post from
  // another thread wakes the loop's epoll_wait while it still holds the
  // io_context's lock, so the loop, awake at once, mostly went to sleep
  // again on that lock; one context switch more per report. The queue's
  // own lock is never held across a system call.
  std::mutex done_mutex;
  std::vector<std::pair<std::string, Disposition>> done_reports;  // under done_mutex
  // Reports handed out by the inbox that the db strand has not taken yet.
  // What gathers while the strand loads one run is taken as the next run,
  // so a burst of small reports is loaded in few commits (run_reports).
  std::mutex ready_mutex;
  std::deque<InboxReport> ready_reports;   // under ready_mutex
  bool ready_posted = false;               // under ready_mutex: a take_reports() is posted
  UniqueFd done_event;
  asio::posix::stream_descriptor done_sd{ioc};
  // The loop's heartbeat, which /healthz reads.
  asio::steady_timer heartbeat_timer{ioc};
  static constexpr auto kHeartbeat = std::chrono::seconds(1);
  // --log-level from the command line, if given: it outlasts reloads.
  std::optional<std::string> log_level_override;

  Metrics metrics;
  StatusBoard status{stopping};
  // How the reports this process placed arrived (S3, browser, email), for
  // their ledger entries; noted on the HTTP and mailbox threads, read on
  // the loading strand.
  Arrivals arrivals;
  std::unique_ptr<HttpService> http;

  // db_strand state.
  std::unique_ptr<Storage> db;
  std::unique_ptr<ReportStage> reports;
  std::unique_ptr<TemplateStage> templates;
  asio::steady_timer templates_timer{db_strand};
  // Wakes the checker hourly for the still_out reminders (its step decides
  // what is due; nothing when alerts.still_out_every_days is 0).
  asio::steady_timer reminders_timer{db_strand};
  std::unique_ptr<ExpectStage> expect;        // missing reports
  std::unique_ptr<DigestStage> digests;
  asio::steady_timer schedules_timer{db_strand};
  asio::steady_timer check_retry_timer{db_strand};
  static constexpr auto kCheckRetry = std::chrono::seconds(5);
  TimePoint counted_since{};

  // The end of the flush at shutdown; read by the transport on the mail
  // strand while the loop thread sets it.
  SendDeadline send_deadline;
  std::atomic<int> shutdown_flush_s;

  // mail_strand state.
  std::unique_ptr<Storage> mail_db;
  std::filesystem::path config_location;  // the database, as at start (a restart changes it)
  StorageOptions storage_options;
  std::unique_ptr<MailTransport> transport;
  std::shared_ptr<Channels> channels;   // webhook, Telegram
  std::unique_ptr<MailStage> mail;
  asio::steady_timer mail_timer{mail_strand};

  // The mailbox's own thread and its state ([mailbox] url set): IMAP and
  // MIME work never holds up loading or mail. Declared in this order so the
  // timer goes before the thread it runs on.
  std::unique_ptr<asio::thread_pool> mailbox_thread;
  std::unique_ptr<Storage> mailbox_db;
  std::unique_ptr<ImapMailbox> imap;
  std::unique_ptr<MailboxStage> mailbox;
  std::unique_ptr<asio::steady_timer> mailbox_timer;
  std::string mailbox_last_error;
  // Mailbox-thread copies of what a reload changes: the settings in use,
  // whether [mailbox] url was emptied, and the generation that the timer's
  // and IDLE's callbacks belong to (a reload starts a new one, so an older
  // callback already on its way does nothing).
  MailboxConfig mailbox_config;
  bool mailbox_off = false;
  std::uint64_t mailbox_generation = 0;
  // Mailbox-thread state: how it opens its database connection and stage
  // (the database as at start; the stage's options as the last reload
  // set them), kept so a connection that cannot be opened yet is tried
  // again.
  std::filesystem::path mailbox_location;
  StorageOptions mailbox_storage;
  MailboxStageOptions mailbox_stage_options;
  // Word of mail queued by any node (PostgreSQL's LISTEN; none on SQLite):
  // the loop thread waits on it; a lost one is opened again on the mail
  // strand (connecting blocks), with backoff.
  std::shared_ptr<OutboxSignal> outbox_signal;  // loop thread
  asio::posix::stream_descriptor outbox_signal_sd{ioc};
  asio::steady_timer outbox_signal_timer{mail_strand};
  int outbox_signal_failures = 0;  // mail strand
  bool mailbox_idle = true;   // until the server shows it cannot

  Impl(Config c, const Clock& clk, std::optional<std::string> log_level)
      : config(std::move(c)),
        clock(clk),
        inbox(config.inbox, clk),
        log_level_override(std::move(log_level)),
        shutdown_flush_s(config.smtp.shutdown_flush_s) {}
  // The HTTP thread reads this object's state: it goes first.
  ~Impl() { http.reset(); }

  // Posts `f` to `executor`, guarded.
  template <class Executor, class F>
  void post(Executor& executor, const char* what, F&& f) {
    asio::post(executor, guarded(what, std::forward<F>(f)));
  }

  void start() {
    std::error_code ec;
    if (!fs::is_directory(config.inbox.path, ec)) {
      throw std::runtime_error("the inbox folder " + config.inbox.path.string() +
                               " does not exist or is not a folder; create it or fix inbox.path");
    }
    ensure_dir(config.inbox.processed, "inbox.processed");
    ensure_dir(config.inbox.failed, "inbox.failed");
    ensure_database_dir(config.storage);
    StorageOptions loading = StorageOptions::from(config.storage);
    loading.defer_maintenance = true;  // the report stage calls maintain() after the checker
    db = Storage::open(config.storage.location(), loading, clock);
    mail_db = Storage::open(config.storage.location(), StorageOptions::from(config.storage), clock);
    config_location = config.storage.location();
    storage_options = StorageOptions::from(config.storage);
    reports = std::make_unique<ReportStage>(*db, clock, loader_options(config), config.alerts,
                                            archive_options(config));
    reports->set_arrivals(&arrivals);
    templates = std::make_unique<TemplateStage>(*db, clock, TemplateStageOptions::from(config));
    expect = std::make_unique<ExpectStage>(*db, clock, ExpectStageOptions::from(config));
    digests = std::make_unique<DigestStage>(*db, clock, DigestStageOptions::from(config));
    transport = make_transport(config.smtp, &send_deadline);
    mail = std::make_unique<MailStage>(*mail_db, *transport, clock, RetryPolicy::from(config.smtp));
    channels = Channels::from(config, &send_deadline);
    mail->set_channels(channels.get());
    // With SQLite, the only one (serve holds the instance lock): a daemon
    // restarted after a crash takes its own claims back at once. Several
    // nodes share a PostgreSQL database, on one host or several, so each
    // claims under its host's name and its process id: none ever takes
    // another's claims before their leases end (a restarted node waits for
    // its own, too, until nodes have configured names).
    mail->set_claimant(config.storage.backend == "postgresql"
                           ? "serve@" + config.node.name + " pid " + std::to_string(::getpid())
                           : "serve");
    mail->set_claim_lease(std::chrono::seconds(config.storage.claim_lease_s));
    status.set_node(config.node.name);
    if (config.inbox.shared) {
      inbox_claimant = "serve@" + config.node.name + " pid " + std::to_string(::getpid());
      reports->set_shared_inbox(inbox_claimant);
    }
    if (config.node.in_logs(config.storage)) metrics.set_node(config.node.name);

    install_outbox_signal(
        OutboxSignal::open(config.storage.location(), StorageOptions::from(config.storage)));
    if (auto st = inbox.start(); !st.ok()) throw std::runtime_error(st.message());
    if (inbox.fd() >= 0) {
      inotify_sd.assign(::dup(inbox.fd()));
      wait_inotify();
    }
    done_event.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!done_event) throw std::runtime_error("cannot create an eventfd for finished reports");
    done_sd.assign(::dup(done_event.get()));
    wait_done();
    signals.async_wait(guarded("signal", [this](const boost::system::error_code& ec, int sig) {
      if (!ec) on_signal(sig);
    }));
    wait_reload();
    status.set_mail_via(transport->describe());
    status.set_inbox_path(config.inbox.path.string());
    (void)status.set_inbox(inbox.stats());   // READY=1 below carries the first line
    heartbeat();
    if (!config.http.listen.empty()) {
      http = std::make_unique<HttpService>(
          config, clock, metrics, [this] { return status.health(); },
          // An upload is complete when placed: the inbox takes it at once,
          // in a folder the upload created too.
          [this](const std::string& relative) {
            asio::post(ioc, guarded("inbox: upload placed", [this, relative] {
              if (stopping) return;
              inbox.placed(relative);
              dispatch_ready();
            }));
          },
          [this](const std::string& relative, std::string_view by) {
            if (by.empty()) arrivals.forget(relative);
            else arrivals.expect(relative, std::string(by));
          });
      http->start();
    }
    if (!config.mailbox.url.empty()) start_mailbox();
    // Nothing is posted to the strands yet, so their connections may be
    // used here.
    count_reports_today();
    if (auto c = mail->counts()) status.set_outbox(*c);
    spdlog::info("stockwatch started: database {}, inbox {}, mail via {}",
                 config.storage.shown_location(), config.inbox.path.string(),
                 transport->describe());
    status.ready();
    if (auto period = systemd::watchdog_interval()) {
      watchdog_period = std::max(std::chrono::microseconds(1000), *period / 2);
      spdlog::debug("systemd watchdog: WATCHDOG=1 every {} ms", watchdog_period.count() / 1000);
      systemd::watchdog();
      arm_watchdog();
    }
    // Catch up on anything left from before a restart.
    post(db_strand, "checker", [this] { run_catch_up(*reports, *this); });
    post(db_strand, "templates", [this] { run_templates(*templates, *this); });
    arm_reminders();
    post(db_strand, "schedules", [this] { run_schedules(*expect, *digests, *this); });
    dispatch_ready();
    arm_inbox_timer();
  }

  // --- The mailbox: reports by email --------------------------------------------------

  // At start (loop not running yet) the database is opened here, so a
  // failure stops the start; started by a reload, on the mailbox's thread,
  // so the loop never waits for a database connection, and a database that
  // cannot be opened then is tried again every poll interval (and at each
  // reload) until it opens or the url is emptied.
  void start_mailbox(bool by_reload = false) {
    mailbox_thread = std::make_unique<asio::thread_pool>(1);
    imap = std::make_unique<ImapMailbox>(config.mailbox);
    mailbox_timer = std::make_unique<asio::steady_timer>(mailbox_thread->get_executor());
    mailbox_config = config.mailbox;
    mailbox_location = config.storage.location();
    mailbox_storage = StorageOptions::from(config.storage);
    mailbox_stage_options = mailbox_options();
    spdlog::info("mailbox: reading {} every {} s", imap->describe(), config.mailbox.poll_interval_s);
    status.set_mailbox(imap->describe(), true, {}, {}, mailbox_idle);
    if (!by_reload) {
      mailbox_db = Storage::open(mailbox_location, mailbox_storage, clock);
      mailbox = std::make_unique<MailboxStage>(*mailbox_db, *imap, clock, mailbox_stage_options);
    }
    post(*mailbox_thread, "mailbox", [this] { open_mailbox(); });
  }

  // The mailbox thread: opens the mailbox's database connection and stage
  // if not yet open, then looks. A failure to open is logged once (until
  // it changes), shown as the mailbox failing, and tried again after the
  // poll interval.
  void open_mailbox() {
    if (stopping || mailbox_off) return;
    if (!mailbox) {
      try {
        mailbox_db = Storage::open(mailbox_location, mailbox_storage, clock);
        mailbox = std::make_unique<MailboxStage>(*mailbox_db, *imap, clock, mailbox_stage_options);
      } catch (const std::exception& e) {
        mailbox.reset();
        mailbox_db.reset();
        const int interval_s = mailbox_config.poll_interval_s;
        const std::string error = std::string("cannot open the database: ") + e.what();
        if (error != mailbox_last_error) {
          spdlog::warn("mailbox: {}; trying again in {} s", error, interval_s);
        }
        mailbox_last_error = error;
        status.set_mailbox(imap->describe(), false, error, {}, mailbox_idle);
        const std::uint64_t generation = mailbox_generation;
        mailbox_timer->expires_after(std::chrono::seconds(interval_s));
        mailbox_timer->async_wait(
            guarded("mailbox: open", [this, generation](const boost::system::error_code& ec) {
              if (!ec && generation == mailbox_generation) open_mailbox();
            }));
        return;
      }
      if (!mailbox_last_error.empty()) {
        spdlog::info("mailbox: the database opened; reading {}", imap->describe());
        mailbox_last_error.clear();
        status.set_mailbox(imap->describe(), true, {}, {}, mailbox_idle);
      }
    }
    run_mailbox();
  }

  // The stage's options as the daemon runs them: a placed attachment is
  // complete, so the inbox takes it at once.
  MailboxStageOptions mailbox_options() {
    MailboxStageOptions options = MailboxStageOptions::from(config);
    options.placing = [this](const std::string& relative, bool placed) {
      if (placed) arrivals.expect(relative, Arrivals::kEmail);
      else arrivals.forget(relative);
    };
    options.placed = [this](const std::string& relative) {
      asio::post(ioc, guarded("inbox: mail attachment placed", [this, relative] {
        if (stopping) return;
        inbox.placed(relative);
        dispatch_ready();
      }));
    };
    return options;
  }

  // SIGHUP (loop thread): [mailbox] as the file now says. A look or an
  // IDLE wait in progress is cut short; the mailbox's thread then takes the
  // new URL, account, password file, senders and limits and looks at once.
  // An emptied url stops reading; a url set for the first time starts it.
  void reload_mailbox(const MailboxConfig& before) {
    if (config.mailbox == before) return;
    if (config.mailbox.url.empty()) {
      if (!imap || before.url.empty()) return;
      imap->stop();
      post(*mailbox_thread, "mailbox: reload", [this] {
        mailbox_off = true;
        ++mailbox_generation;
        mailbox_timer->cancel();
        status.set_mailbox({}, true, {}, {}, false);
        spdlog::info("SIGHUP: mailbox.url is empty: the mailbox is no longer read");
      });
      return;
    }
    if (!imap) {
      start_mailbox(true);
      return;
    }
    imap->stop();
    post(*mailbox_thread, "mailbox: reload",
         [this, box = config.mailbox, options = mailbox_options()]() mutable {
           if (stopping) return;
           ++mailbox_generation;
           mailbox_timer->cancel();
           imap->reconfigure(box);
           // Not open yet (its database could not be opened): opened below
           // with these options.
           if (mailbox) mailbox->reload(options);
           mailbox_stage_options = std::move(options);
           mailbox_config = std::move(box);
           mailbox_off = false;
           mailbox_idle = true;   // until this server shows it cannot
           mailbox_last_error.clear();
           spdlog::info("SIGHUP: mailbox: reading {} ({} sender(s))", imap->describe(),
                        mailbox_config.senders.size());
           status.set_mailbox(imap->describe(), true, {}, {}, mailbox_idle);
           open_mailbox();
         });
  }

  // The mailbox thread: one look, then the next one (soon while a mail
  // waits for its reports to load).
  void run_mailbox() {
    if (stopping || mailbox_off || !mailbox) return;
    const std::uint64_t generation = mailbox_generation;
    const int interval_s = mailbox_config.poll_interval_s;
    const MailboxStep step = mailbox->step();
    if (step.replies > 0) wake_mail();
    metrics.mailbox(step.seen, step.loaded, step.refused, step.replies, step.server_failed);
    // A look cut short by a reload or shutdown is no failure to report.
    const bool cut = !step.ok && (stopping || step.cancelled);
    if (!cut) {
      if (!step.ok && step.error != mailbox_last_error) {
        spdlog::warn("mailbox: {}; trying again in {} s", step.error, interval_s);
      } else if (step.ok && !mailbox_last_error.empty()) {
        spdlog::info("mailbox: {} works again", imap->describe());
      }
      mailbox_last_error = step.ok ? std::string() : step.error;
      status.set_mailbox(imap->describe(), step.ok, step.error,
                         step.ok ? clock.now() : TimePoint{}, mailbox_idle);
    }
    // With IDLE, the thread waits on the server for news (stop() ends the
    // wait within half a second); otherwise on the timer.
    if (step.ok && !step.waiting && mailbox_idle) {
      auto news = imap->wait_for_news(std::chrono::seconds(interval_s));
      if (news) {
        post(*mailbox_thread, "mailbox", [this, generation] {
          if (generation == mailbox_generation) run_mailbox();
        });
        return;
      }
      if (news.error().code() == ErrorCode::kCancelled) return;
      if (news.error().code() == ErrorCode::kInvalidInput) {
        mailbox_idle = false;
        status.set_mailbox(imap->describe(), true, {}, {}, false);
        spdlog::info("mailbox: {}; looking every {} s", news.error().message(), interval_s);
      } else {
        spdlog::debug("mailbox: IDLE: {}", news.error().message());
      }
    }
    const auto wait = step.waiting ? std::chrono::milliseconds(250)
                                   : std::chrono::milliseconds(interval_s * 1000LL);
    mailbox_timer->expires_after(wait);
    mailbox_timer->async_wait(
        guarded("mailbox timer", [this, generation](const boost::system::error_code& ec) {
          if (!ec && generation == mailbox_generation) run_mailbox();
        }));
  }

  // --- Reload (SIGHUP) ------------------------------------------------------------

  void wait_reload() {
    reload_signal.async_wait(guarded("reload", [this](const boost::system::error_code& ec, int) {
      if (ec || stopping) return;
      wait_reload();
      reload();
    }));
  }

  // Reads the config file again. A file with problems is refused and the
  // running configuration stays. Settings that need a restart keep their
  // running values, named in a warning; the rest take effect at once: the
  // log level (unless --log-level was given), the HTTP side, then the
  // report stage's loader, archive and alert settings, then the mail
  // stage's SMTP settings; READY=1 goes out once all are in effect.
  void reload() {
    systemd::reloading();
    auto loaded = load_config(config.source);
    if (!loaded.ok()) {
      spdlog::error("SIGHUP: {} has {} problem(s); keeping the running configuration",
                    config.source.string(), loaded.problems.size());
      for (const auto& p : loaded.problems) spdlog::error("  {}", p.to_string());
      status.ready();
      return;
    }
    const MailboxConfig mailbox_before = config.mailbox;
    ReloadPlan plan = plan_reload(config, loaded.config);
    if (!plan.needs_restart.empty()) {
      spdlog::warn("SIGHUP: {} change{} only at a restart; the running value{} stay{} until then",
                   join_keys(plan.needs_restart), plan.needs_restart.size() == 1 ? "s" : "",
                   plan.needs_restart.size() == 1 ? "" : "s",
                   plan.needs_restart.size() == 1 ? "s" : "");
    }
    config = std::move(plan.next);
    if (http) http->reload(config);
    reload_mailbox(mailbox_before);
    if (!log_level_override) {
      spdlog::set_level(spdlog::level::from_str(config.log.level));
    } else if (config.log.level != *log_level_override) {
      spdlog::info("SIGHUP: log.level \"{}\" is not applied: --log-level {} from the command "
                   "line stays in effect", config.log.level, *log_level_override);
    }
    post(db_strand, "reload", [this, loading = loader_options(config), alerts = config.alerts,
                               archive = archive_options(config), smtp = config.smtp,
                               sheets = TemplateStageOptions::from(config),
                               expecting = ExpectStageOptions::from(config),
                               digesting = DigestStageOptions::from(config),
                               next = std::shared_ptr<Channels>(
                                   Channels::from(config, &send_deadline))] {
      reports->set_loader_options(loading);
      reports->set_archive(archive);
      reports->set_alerts(alerts);
      templates->reload(sheets);
      templates_timer.cancel();
      run_templates(*templates, *this);
      expect->reload(expecting);
      digests->reload(digesting);
      schedules_timer.cancel();
      run_schedules(*expect, *digests, *this);
      post(mail_strand, "reload", [this, smtp, next] { reload_mail(smtp, next); });
    });
  }

  // mail_strand.
  void reload_mail(const SmtpConfig& smtp, std::shared_ptr<Channels> next_channels) {
    shutdown_flush_s = smtp.shutdown_flush_s;
    auto next = make_transport(smtp, &send_deadline);
    mail->set_transport(*next);
    mail->set_channels(next_channels.get());
    channels = std::move(next_channels);
    mail->set_policy(RetryPolicy::from(smtp));
    transport = std::move(next);
    status.set_mail_via(transport->describe());
    spdlog::info("SIGHUP: configuration reloaded; mail via {}", transport->describe());
    status.ready();
    run_mailer();
  }

  // --- Loop thread: heartbeat, watchdog, inbox ------------------------------------

  // Records that the loop runs, and the inbox's mode and scan count.
  void heartbeat() {
    status.heartbeat(inbox.stats());
    if (stopping) return;
    heartbeat_timer.expires_after(kHeartbeat);
    heartbeat_timer.async_wait(guarded("heartbeat", [this](const boost::system::error_code& ec) {
      if (!ec) heartbeat();
    }));
  }

  void arm_watchdog() {
    if (stopping) return;
    watchdog_timer.expires_after(watchdog_period);
    watchdog_timer.async_wait(guarded("watchdog", [this](const boost::system::error_code& ec) {
      if (ec || stopping) return;
      systemd::watchdog();
      arm_watchdog();
    }));
  }

  void wait_inotify() {
    inotify_sd.async_wait(asio::posix::stream_descriptor::wait_read,
                          guarded("inbox events", [this](const boost::system::error_code& ec) {
                            if (ec || stopping) return;
                            wait_inotify();
                            guarded("inbox events", [this] { inbox.handle_events(); })();
                            after_inbox();
                          }));
  }

  // Finished reports (report_done), handed to the inbox in the order they
  // were done.
  void wait_done() {
    done_sd.async_wait(asio::posix::stream_descriptor::wait_read,
                       guarded("report done", [this](const boost::system::error_code& ec) {
                         if (ec || stopping) return;
                         // Read (which zeroes the count) before waiting
                         // again, so the wait wakes only for later reports;
                         // a report queued meanwhile is taken below.
                         std::uint64_t count = 0;
                         (void)!::read(done_event.get(), &count, sizeof count);
                         wait_done();
                         std::vector<std::pair<std::string, Disposition>> done;
                         {
                           std::lock_guard<std::mutex> lock(done_mutex);
                           done.swap(done_reports);
                         }
                         if (done.empty()) return;
                         for (const auto& [relative, d] : done) inbox.done(relative, d);
                         arm_inbox_timer();
                       }));
  }

  void arm_inbox_timer() {
    if (stopping) return;
    auto next = inbox.next_wakeup();
    if (!next) return;
    const auto delay = std::max(Duration(0), std::chrono::duration_cast<Duration>(*next - clock.now()));
    inbox_timer.expires_after(delay);
    inbox_timer.async_wait(guarded("inbox timer", [this](const boost::system::error_code& ec) {
      if (ec || stopping) return;
      // The timer is armed again whatever the step does.
      guarded("inbox step", [this] { inbox.process_due(clock.now()); })();
      after_inbox();
    }));
  }

  // After the inbox did anything: status, hand out what is ready, re-arm.
  void after_inbox() {
    if (status.set_inbox(inbox.stats())) status.publish();
    dispatch_ready();
    arm_inbox_timer();
  }

  // Hands complete reports to the report stage.
  void dispatch_ready() {
    if (stopping) return;
    auto ready = inbox.take_ready();
    // Nodes polling one folder each take it in an order of their own (by
    // name and process: two nodes on one host may share a name).
    if (config.inbox.shared) order_for_node(ready, inbox_claimant);
    if (ready.empty()) return;
    {
      std::lock_guard lock(ready_mutex);
      for (auto& report : ready) ready_reports.push_back(std::move(report));
      if (ready_posted) return;
      ready_posted = true;
    }
    post(db_strand, "reports", [this] { take_reports(); });
  }

  // --- db_strand: the report stage ---------------------------------------------------

  // Takes what is waiting, at most one group's worth (the rest in a handler
  // of its own, so timed work on the strand is not held up behind a burst).
  void take_reports() {
    std::vector<InboxReport> run;
    bool more = false;
    {
      std::lock_guard lock(ready_mutex);
      while (!ready_reports.empty() && run.size() < ReportStage::kGroupReports) {
        run.push_back(std::move(ready_reports.front()));
        ready_reports.pop_front();
      }
      more = !ready_reports.empty();
      ready_posted = more;
    }
    // The rest is taken however this run ends.
    struct TakeRest {
      Impl* daemon;
      bool more;
      ~TakeRest() {
        if (!more) return;
        try {
          daemon->post(daemon->db_strand, "reports", [d = daemon] { d->take_reports(); });
        } catch (...) {
          log_handler_exception("reports");
        }
      }
    } rest{this, more};
    run_reports(*reports, run, *this, &stopping);
    status.set_loading({});
  }

  // PipelineEvents, on the db strand: which report loads, and what a report
  // and a checker run did, go to the metrics and the status.
  // "loading NAME" is shown only once the report is past the last check of
  // `stopping` before the loader: a SIGTERM after that line cancels the
  // load, which then logs "loading stopped by shutdown".
  void loading(const InboxReport& report) override { status.set_loading(report.relative); }

  void handled(const InboxReport&, const ReportStep& step) override {
    status.set_connection("loading", db->connection_problem());
    if (step.outcome && !step.outcome->resumed) {
      metrics.report(to_string(step.outcome->status), step.outcome->rows, step.outcome->changes,
                     step.load_seconds);
    }
    count_reports_today(true);
    if (auto c = db->open_outbox_counts()) status.set_outbox(*c);
  }

  void checked(const CheckStep& c) override {
    status.set_connection("loading", db->connection_problem());
    if (!c.ok) {
      // The checker failed (the database away, say): it runs again soon,
      // not only when the next report comes.
      if (stopping) return;
      check_retry_timer.expires_after(kCheckRetry);
      check_retry_timer.async_wait(
          guarded("checker retry", [this](const boost::system::error_code& ec) {
            if (!ec && !stopping) run_catch_up(*reports, *this);
          }));
      return;
    }
    for (const EventKind e : kEventKinds) metrics.alerts(e, c.found.of(e));
    metrics.messages_queued(c.found.messages);
  }

  // Missing reports and digests count as alerts too.
  void scheduled(EventKind event, std::int64_t found, std::int64_t messages) override {
    metrics.alerts(event, found);
    metrics.messages_queued(messages);
  }

  // The loop thread keeps the inbox.
  void report_done(const std::string& relative, Disposition d) override {
    {
      std::lock_guard<std::mutex> lock(done_mutex);
      done_reports.emplace_back(relative, d);
    }
    const std::uint64_t one = 1;
    (void)!::write(done_event.get(), &one, sizeof one);
  }

  void wake_mail() override { post(mail_strand, "mailer", [this] { run_mailer(); }); }

  // Reports handled since local midnight: counted in the database at start
  // and when the day changes, otherwise one more per report, so the status
  // line costs nothing per report however many there are.
  void count_reports_today(bool one_more = false) {
    const TimePoint midnight = local_midnight(clock.now());
    if (one_more && midnight == counted_since) {
      status.add_report_today();
      return;
    }
    auto n = db->count_reports_since(midnight);
    if (!n) return;
    counted_since = midnight;
    status.set_reports_today(*n);
  }

  void arm_reminders() {
    if (stopping) return;
    reminders_timer.expires_after(std::chrono::hours(1));
    reminders_timer.async_wait(guarded("reminders timer", [this](const boost::system::error_code& ec) {
      if (ec || stopping) return;
      run_catch_up(*reports, *this);
      arm_reminders();
    }));
  }

  // The template stage's timer, on the db strand. It wakes at most an hour
  // ahead, so a clock set forward or back (or a suspended machine) is
  // noticed within the hour; the step itself decides what is due.
  void templates_at(TimePoint at) override {
    if (stopping) return;
    const auto wait = std::clamp(std::chrono::duration_cast<Duration>(at - clock.now()),
                                 Duration(0), Duration(std::chrono::hours(1)));
    templates_timer.expires_after(wait);
    templates_timer.async_wait(guarded("templates timer", [this](const boost::system::error_code& ec) {
      if (!ec && !stopping) run_templates(*templates, *this);
    }));
  }

  // The expect and digest stages' timer, on the db strand; an hour at most,
  // as the template stage's.
  void schedules_at(TimePoint at) override {
    if (stopping) return;
    const auto wait = std::clamp(std::chrono::duration_cast<Duration>(at - clock.now()),
                                 Duration(0), Duration(std::chrono::hours(1)));
    schedules_timer.expires_after(wait);
    schedules_timer.async_wait(guarded("schedules timer", [this](const boost::system::error_code& ec) {
      if (!ec && !stopping) run_schedules(*expect, *digests, *this);
    }));
  }

  // --- mail_strand: the mail stage -------------------------------------------------

  // What a mail stage step did goes to the metrics and the status.
  void record_mail(const MailStep& step) {
    if (!step.ok) return;
    metrics.emails(step.sent.sent, step.sent.retried, step.sent.dead);
    status.set_mail_result(step.sent, clock.now());
  }

  // The outbox's queued and dead counts, for STATUS= and the metrics.
  std::optional<OutboxCounts> update_outbox_counts() {
    auto c = mail->counts();
    if (!c) return std::nullopt;
    status.set_outbox(*c);
    metrics.outbox_depth(c->queued, c->dead);
    status.publish();
    return c;
  }

  void run_mailer() {
    if (stopping) return;
    run_mail(*mail, *this, 100, &stopping);
  }

  // PipelineEvents, on the mail strand.
  void mailed(const MailStep& step) override {
    status.set_connection("mail", mail_db->connection_problem());
    record_mail(step);
    update_outbox_counts();
  }

  void mail_at(TimePoint at) override {
    if (at <= clock.now()) {
      post(mail_strand, "mailer", [this] { run_mailer(); });
    } else {
      arm_mail_timer(at);
    }
  }

  void arm_mail_timer(TimePoint at) {
    if (stopping) return;
    const auto delay = std::max(Duration(0), std::chrono::duration_cast<Duration>(at - clock.now()));
    mail_timer.expires_after(delay);
    mail_timer.async_wait(guarded("mail timer", [this](const boost::system::error_code& ec) {
      if (!ec) run_mailer();
    }));
  }

  // --- Loop thread: word of queued mail ------------------------------------------

  void install_outbox_signal(std::shared_ptr<OutboxSignal> s) {
    outbox_signal = std::move(s);
    if (!outbox_signal || stopping) return;
    outbox_signal_sd.assign(::dup(outbox_signal->fd()));
    wait_outbox_signal();
  }

  void wait_outbox_signal() {
    outbox_signal_sd.async_wait(
        asio::posix::stream_descriptor::wait_read,
        guarded("outbox signal", [this](const boost::system::error_code& ec) {
          if (ec || stopping) return;
          auto n = outbox_signal->drain();
          if (!n) {
            spdlog::warn("{}; listening again soon (until then queued mail is found by the "
                         "mailer's own checks)", n.error().message());
            boost::system::error_code ignored;
            outbox_signal_sd.close(ignored);
            outbox_signal.reset();
            post(mail_strand, "outbox signal", [this] { reopen_outbox_signal(); });
            return;
          }
          if (*n > 0) wake_mail();
          wait_outbox_signal();
        }));
  }

  // mail_strand: opens the signal again after a backoff (1 s doubling to
  // 30 s), then hands it to the loop thread.
  void reopen_outbox_signal() {
    if (stopping) return;
    const auto wait = std::min(std::chrono::seconds(1) * (1 << std::min(outbox_signal_failures, 5)),
                               std::chrono::seconds(30));
    outbox_signal_timer.expires_after(wait);
    outbox_signal_timer.async_wait(
        guarded("outbox signal", [this](const boost::system::error_code& ec) {
          if (ec || stopping) return;
          try {
            std::shared_ptr<OutboxSignal> s = OutboxSignal::open(config_location, storage_options);
            outbox_signal_failures = 0;
            spdlog::info("listening for queued mail again");
            post(ioc, "outbox signal", [this, s] { install_outbox_signal(s); });
            // Anything queued while no word could come.
            run_mailer();
          } catch (const std::exception& e) {
            ++outbox_signal_failures;
            spdlog::warn("{}", e.what());
            reopen_outbox_signal();
          }
        }));
  }

  // --- Shutdown -------------------------------------------------------------------

  // SIGINT, SIGTERM: stop taking reports; the report being loaded is
  // finished or rolled back; then what is due is sent until
  // smtp.shutdown_flush_s after the signal, and the rest stays queued.
  void on_signal(int sig) {
    const int flush_s = shutdown_flush_s;
    spdlog::info("received {}, stopping: the report being loaded is finished or rolled back, "
                 "then queued mail is sent for up to {} s",
                 sig == SIGINT ? "SIGINT" : "SIGTERM", flush_s);
    const auto deadline = SendDeadline::Clock::now() + std::chrono::seconds(flush_s);
    send_deadline.set(deadline);
    stopping = true;
    systemd::stopping();
    if (http) http->stop();  // no new uploads
    watchdog_timer.cancel();
    heartbeat_timer.cancel();
    boost::system::error_code ignored;
    inotify_sd.cancel(ignored);
    inotify_sd.close(ignored);
    done_sd.cancel(ignored);
    done_sd.close(ignored);
    inbox_timer.cancel();
    reload_signal.cancel();
    if (imap) {
      imap->stop();
      post(*mailbox_thread, "mailbox: shutdown", [this] { mailbox_timer->cancel(); });
    }
    outbox_signal_sd.cancel(ignored);
    outbox_signal_sd.close(ignored);
    // Through the db strand first: its report in progress, and the checker
    // step after it, come before the flush, so their alerts are in it.
    post(db_strand, "shutdown", [this, deadline] {
      templates_timer.cancel();
      reminders_timer.cancel();
      schedules_timer.cancel();
      check_retry_timer.cancel();
      post(mail_strand, "shutdown", [this, deadline] {
        outbox_signal_timer.cancel();
        flush_mail(deadline);
      });
    });
  }

  // mail_strand, once, at shutdown: sends due messages one at a time until
  // none is due or the deadline passes (the transport cuts the last one
  // short). A failed one is queued again with backoff, as always.
  void flush_mail(SendDeadline::Clock::time_point deadline) {
    mail_timer.cancel();
    int sent = 0;
    while (SendDeadline::Clock::now() < deadline) {
      const MailStep step = mail->step(1, nullptr);
      record_mail(step);
      if (!step.ok) break;
      sent += step.sent.sent;
      if (!step.sent.next_due || *step.sent.next_due > clock.now()) break;
    }
    const auto counts = update_outbox_counts();
    const std::int64_t queued = counts ? counts->queued : -1;
    if (queued > 0) {
      spdlog::info("shutdown: {} message(s) sent; {} still queued, sent after the next start",
                   sent, queued);
    } else if (sent > 0) {
      spdlog::info("shutdown: {} message(s) sent; nothing left queued", sent);
    }
  }

  int run() {
    try {
      start();
    } catch (const std::exception& e) {
      systemd::status(std::string("cannot start: ") + e.what());
      throw;
    }
    ioc.run();
    // The loop stops once no loop work is left; wait for the workers to
    // finish (or roll back) what they are doing.
    workers.join();
    if (mailbox_thread) mailbox_thread->join();
    if (http) http->stop();
    spdlog::info("stockwatch stopped");
    return 0;
  }
};

Daemon::Daemon(Config config, const Clock& clock, std::optional<std::string> log_level)
    : impl_(std::make_unique<Impl>(std::move(config), clock, std::move(log_level))) {}
Daemon::~Daemon() = default;

int Daemon::run() { return impl_->run(); }

}  // namespace stockwatch
