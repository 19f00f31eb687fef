#include "daemon/app.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <sys/stat.h>
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
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iomanip>
#include <mutex>
#include <optional>
#include <string>

#include "pipeline/archive.hpp"
#include "pipeline/checker.hpp"
#include "http/http_service.hpp"
#include "inbox/inbox.hpp"
#include "pipeline/loader.hpp"
#include "notify/mailer.hpp"
#include "notify/message.hpp"
#include "daemon/metrics.hpp"
#include "store/storage.hpp"
#include "os/systemd_notify.hpp"
#include "notify/transport.hpp"
#include "notify/curl_handle.hpp"

namespace stockwatch {

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {
// "<6>" and friends: the syslog priority prefix the journal understands.
class SyslogPriorityFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    int prio = 6;
    switch (msg.level) {
      case spdlog::level::trace:
      case spdlog::level::debug: prio = 7; break;
      case spdlog::level::info: prio = 6; break;
      case spdlog::level::warn: prio = 4; break;
      case spdlog::level::err: prio = 3; break;
      case spdlog::level::critical: prio = 2; break;
      default: break;
    }
    const char text[4] = {'<', static_cast<char>('0' + prio), '>', ' '};
    dest.append(text, text + 4);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<SyslogPriorityFlag>();
  }
};
}  // namespace

bool is_journal_stream(const char* journal_stream, int fd) {
  if (journal_stream == nullptr) return false;
  unsigned long long dev = 0, ino = 0;
  int used = 0;
  if (std::sscanf(journal_stream, "%llu:%llu%n", &dev, &ino, &used) != 2 ||
      journal_stream[used] != '\0') {
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == dev &&
         static_cast<unsigned long long>(st.st_ino) == ino;
}

void setup_logging(const std::string& level) {
  auto logger = spdlog::get("stockwatch");
  if (!logger) logger = spdlog::stderr_color_mt("stockwatch");
  if (is_journal_stream(std::getenv("JOURNAL_STREAM"), STDERR_FILENO)) {
    // Under systemd the journal adds its own timestamp and reads the level
    // from the priority prefix.
    auto f = std::make_unique<spdlog::pattern_formatter>();
    f->add_flag<SyslogPriorityFlag>('*').set_pattern("%*%v");
    logger->set_formatter(std::move(f));
  } else {
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  }
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::flush_on(spdlog::level::info);
}

namespace {

LoaderOptions loader_options(const Config& c) {
  LoaderOptions o;
  o.limits = c.report.limits;
  o.aliases = c.report.aliases;
  o.max_report_bytes = c.inbox.max_report_bytes;
  o.confine_to = c.inbox.path;
  o.sort_dir = c.storage.database.parent_path();  // rows being sorted spill beside the database
  return o;
}

ArchiveOptions archive_options(const Config& c) {
  return {c.inbox.processed, c.inbox.failed, c.inbox.archive == "delete"};
}

constexpr const char* kDeletedMarker = "(deleted)";

void ensure_dir(const fs::path& dir, const char* key) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error(std::string(key) + ": cannot create " + dir.string() + ": " + ec.message());
}

}  // namespace

App::App(Config config, const Clock& clock) : config_(std::move(config)), clock_(clock) {}
App::~App() = default;

// --- The daemon -----------------------------------------------------------------

struct App::Daemon {
  const Config& config;
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
  // The loop's heartbeat, which /healthz reads.
  asio::steady_timer heartbeat_timer{ioc};
  static constexpr auto kHeartbeat = std::chrono::seconds(1);

  Metrics metrics;
  std::unique_ptr<HttpService> http;

  // The STATUS= line systemd shows: reports today, the outbox and inbox
  // trouble, kept by whichever strand last learned them.
  std::mutex status_mu;
  std::int64_t reports_today = 0;
  TimePoint counted_since{};  // db_strand
  std::string loading_now;   // the report being loaded, if any
  OutboxCounts outbox_now;
  std::string last_status;
  // For /healthz and /readyz (HTTP thread), also under status_mu; its inbox
  // fields also feed STATUS=.
  DaemonHealth health_now;

  // db_strand state.
  std::unique_ptr<Storage> db;
  std::unique_ptr<Loader> loader;
  std::unique_ptr<Checker> checker;
  CheckerTotals reported_totals;   // what metrics already count

  // The end of the flush at shutdown; read by the transport on the mail
  // strand while the loop thread sets it.
  SendDeadline send_deadline;
  std::atomic<int> shutdown_flush_s;

  // mail_strand state.
  std::unique_ptr<Storage> mail_db;
  std::unique_ptr<MailTransport> transport;
  std::unique_ptr<Mailer> mailer;
  asio::steady_timer mail_timer{mail_strand};
  // Messages queued by other processes (`ingest`, `outbox retry`) are
  // picked up at least this often.
  static constexpr auto kMailRecheck = std::chrono::seconds(30);

  // --log-level from the command line, if given: it outlasts reloads.
  std::optional<std::string> log_level_override;

  Daemon(const Config& c, const Clock& clk, std::optional<std::string> log_level)
      : config(c),
        clock(clk),
        inbox(c.inbox, clk),
        shutdown_flush_s(c.smtp.shutdown_flush_s),
        log_level_override(std::move(log_level)) {}
  // The HTTP thread reads this object's state: it goes first.
  ~Daemon() { http.reset(); }

  void start() {
    std::error_code ec;
    if (!fs::is_directory(config.inbox.path, ec)) {
      throw std::runtime_error("the inbox folder " + config.inbox.path.string() +
                               " does not exist or is not a folder; create it or fix inbox.path");
    }
    ensure_dir(config.inbox.processed, "inbox.processed");
    ensure_dir(config.inbox.failed, "inbox.failed");
    if (config.storage.database.has_parent_path()) ensure_dir(config.storage.database.parent_path(), "storage.database");
    StorageOptions loading = StorageOptions::from(config.storage);
    loading.auto_checkpoint = false;  // process_report() checkpoints after the checker
    db = Storage::open(config.storage.database, loading, clock);
    mail_db = Storage::open(config.storage.database, StorageOptions::from(config.storage), clock);
    loader = std::make_unique<Loader>(*db, clock, loader_options(config));
    checker = std::make_unique<Checker>(*db, clock, config.alerts);
    transport = make_transport(config.smtp, &send_deadline);
    mailer = std::make_unique<Mailer>(*mail_db, *transport, clock, RetryPolicy::from(config.smtp));

    if (auto st = inbox.start(); !st.ok()) throw std::runtime_error(st.message());
    if (inbox.fd() >= 0) {
      inotify_sd.assign(::dup(inbox.fd()));
      wait_inotify();
    }
    signals.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (!ec) on_signal(sig);
    });
    wait_reload();
    {
      std::lock_guard lock(status_mu);
      health_now.mail_via = transport->describe();
      health_now.inbox_path = config.inbox.path.string();
      health_now.inbox_watched = inbox.stats().root_present;
      health_now.inbox_overflows = inbox.stats().overflows;
    }
    heartbeat();
    if (!config.http.listen.empty()) {
      http = std::make_unique<HttpService>(config, clock, metrics, [this] {
        std::lock_guard lock(status_mu);
        DaemonHealth h = health_now;
        h.stopping = stopping;
        return h;
      });
      http->start();
    }
    // Nothing is posted to the strands yet, so their connections may be
    // used here.
    count_reports_today();
    if (auto c = mail_db->open_outbox_counts()) set_outbox_counts(*c);
    spdlog::info("stockwatch started: database {}, inbox {}, mail via {}",
                 config.storage.database.string(), config.inbox.path.string(),
                 transport->describe());
    {
      std::lock_guard lock(status_mu);
      last_status = status_line_locked();
      systemd::ready(last_status);
    }
    if (auto period = systemd::watchdog_interval()) {
      watchdog_period = std::max(std::chrono::microseconds(1000), *period / 2);
      spdlog::debug("systemd watchdog: WATCHDOG=1 every {} ms", watchdog_period.count() / 1000);
      systemd::watchdog();
      arm_watchdog();
    }
    // Catch up on anything left from before a restart.
    asio::post(db_strand, [this] { run_checker(); });
    asio::post(mail_strand, [this] { run_mailer(); });
    dispatch_ready();
    arm_inbox_timer();
  }

  // SIGHUP: read the config file again. Alert, SMTP and log settings take
  // effect at once (the log level only without --log-level, which stays);
  // storage and inbox settings need a restart. A config with problems is
  // refused and the running one stays.
  void wait_reload() {
    reload_signal.async_wait([this](const boost::system::error_code& ec, int) {
      if (ec || stopping) return;
      reload();
      wait_reload();
    });
  }

  void reload() {
    systemd::reloading();
    auto loaded = load_config(config.source);
    if (!loaded.ok()) {
      spdlog::error("SIGHUP: {} has {} problem(s); keeping the running configuration",
                    config.source.string(), loaded.problems.size());
      for (const auto& p : loaded.problems) spdlog::error("  {}", p.to_string());
      notify_ready_again();
      return;
    }
    Config fresh = std::move(loaded.config);
    if (fresh.storage.database != config.storage.database || fresh.inbox.path != config.inbox.path ||
        fresh.inbox.processed != config.inbox.processed || fresh.inbox.failed != config.inbox.failed ||
        fresh.inbox.mode != config.inbox.mode) {
      spdlog::warn("SIGHUP: storage and inbox settings change only at a restart");
    }
    if (fresh.http.listen != config.http.listen) {
      spdlog::warn("SIGHUP: http.listen changes only at a restart");
    }
    if (http) http->reload(fresh);
    if (!log_level_override) {
      spdlog::set_level(spdlog::level::from_str(fresh.log.level));
    } else if (fresh.log.level != *log_level_override) {
      spdlog::info("SIGHUP: log.level \"{}\" is not applied: --log-level {} from the command "
                   "line stays in effect", fresh.log.level, *log_level_override);
    }
    // The db strand takes the alert settings, then the mail strand the SMTP
    // settings; READY=1 goes out once both are in effect.
    asio::post(db_strand, [this, alerts = fresh.alerts, smtp = fresh.smtp] {
      checker->set_config(alerts);
      asio::post(mail_strand, [this, smtp] {
        shutdown_flush_s = smtp.shutdown_flush_s;
        auto next = make_transport(smtp, &send_deadline);
        mailer->set_transport(*next);
        mailer->set_policy(RetryPolicy::from(smtp));
        transport = std::move(next);
        {
          std::lock_guard lock(status_mu);
          health_now.mail_via = transport->describe();
        }
        spdlog::info("SIGHUP: configuration reloaded; mail via {}", transport->describe());
        notify_ready_again();
        run_mailer();
      });
    });
  }

  // Any thread: READY=1 after RELOADING=1, unless the daemon is stopping.
  void notify_ready_again() {
    if (stopping) return;
    std::lock_guard lock(status_mu);
    last_status = status_line_locked();
    systemd::ready(last_status);
  }

  // Loop thread: records that the loop runs, and the inbox's scan count
  // (publish_inbox() keeps its other fields).
  void heartbeat() {
    {
      const auto& st = inbox.stats();
      std::lock_guard lock(status_mu);
      health_now.loop_tick = std::chrono::steady_clock::now();
      health_now.inbox_mode = st.polling ? "poll" : "inotify";
      health_now.inbox_scans = st.scans;
    }
    if (stopping) return;
    heartbeat_timer.expires_after(kHeartbeat);
    heartbeat_timer.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) heartbeat();
    });
  }

  // Loop thread.
  void arm_watchdog() {
    if (stopping) return;
    watchdog_timer.expires_after(watchdog_period);
    watchdog_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping) return;
      systemd::watchdog();
      arm_watchdog();
    });
  }

  // --- STATUS= ------------------------------------------------------------------

  std::string status_line_locked() const {
    std::string line;
    if (!loading_now.empty()) line = "loading " + loading_now + "; ";
    line += std::to_string(reports_today) + (reports_today == 1 ? " report" : " reports") +
            " today, outbox: " + std::to_string(outbox_now.queued) + " queued, " +
            std::to_string(outbox_now.dead) + " dead";
    if (!health_now.inbox_watched) line += ", inbox folder missing";
    if (health_now.inbox_overflows > 0) {
      line += ", inbox overflows: " + std::to_string(health_now.inbox_overflows);
    }
    return line;
  }

  // Sends STATUS= when the line changed; nothing once stopping.
  void publish_status() {
    if (stopping) return;
    std::lock_guard lock(status_mu);
    auto line = status_line_locked();
    if (line == last_status) return;
    last_status = std::move(line);
    systemd::status(last_status);
  }

  // Loop thread, after the inbox did anything.
  void publish_inbox() {
    const InboxStats& s = inbox.stats();
    {
      std::lock_guard lock(status_mu);
      if (health_now.inbox_overflows == s.overflows && health_now.inbox_watched == s.root_present) {
        return;
      }
      health_now.inbox_overflows = s.overflows;
      health_now.inbox_watched = s.root_present;
    }
    publish_status();
  }

  void set_outbox_counts(const OutboxCounts& c) {
    std::lock_guard lock(status_mu);
    outbox_now = c;
  }

  // Reports handled since local midnight: counted in the database at start
  // and when the day changes, otherwise one more per report, so the status
  // line costs nothing per report however many there are.
  void count_reports_today(bool one_more = false) {
    const std::time_t now = std::chrono::system_clock::to_time_t(clock.now());
    std::tm tm{};
    localtime_r(&now, &tm);
    tm.tm_hour = 0;
    tm.tm_min = 0;
    tm.tm_sec = 0;
    tm.tm_isdst = -1;
    const TimePoint midnight = std::chrono::system_clock::from_time_t(std::mktime(&tm));
    if (one_more && midnight == counted_since) {
      std::lock_guard lock(status_mu);
      ++reports_today;
      return;
    }
    auto n = db->count_reports_since(midnight);
    if (!n) return;
    counted_since = midnight;
    std::lock_guard lock(status_mu);
    reports_today = *n;
  }

  void set_loading(const std::string& name) {
    {
      std::lock_guard lock(status_mu);
      loading_now = name;
    }
    publish_status();
  }

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
    inbox_timer.cancel();
    reload_signal.cancel();
    // Through the db strand first: its report in progress, and the checker
    // step after it, come before the flush, so their alerts are in it.
    asio::post(db_strand, [this, deadline] {
      asio::post(mail_strand, [this, deadline] { flush_mail(deadline); });
    });
  }

  // mail_strand, once, at shutdown: sends due messages one at a time until
  // none is due or the deadline passes (the transport cuts the last one
  // short). A failed one is queued again with backoff, as always.
  void flush_mail(SendDeadline::Clock::time_point deadline) {
    mail_timer.cancel();
    int sent = 0;
    while (SendDeadline::Clock::now() < deadline) {
      const auto step = mailer_step(1, nullptr);
      if (!step) {
        spdlog::error("mailer: {}", step.error().message());
        break;
      }
      sent += step->sent;
      if (!step->next_due || *step->next_due > clock.now()) break;
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

  void wait_inotify() {
    inotify_sd.async_wait(asio::posix::stream_descriptor::wait_read,
                          [this](const boost::system::error_code& ec) {
                            if (ec || stopping) return;
                            inbox.handle_events();
                            publish_inbox();
                            dispatch_ready();
                            arm_inbox_timer();
                            wait_inotify();
                          });
  }

  void arm_inbox_timer() {
    if (stopping) return;
    auto next = inbox.next_wakeup();
    if (!next) return;
    const auto delay = std::max(Duration(0), std::chrono::duration_cast<Duration>(*next - clock.now()));
    inbox_timer.expires_after(delay);
    inbox_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping) return;
      inbox.process_due(clock.now());
      publish_inbox();
      dispatch_ready();
      arm_inbox_timer();
    });
  }

  // Loop thread: hands complete reports to the loader strand.
  void dispatch_ready() {
    if (stopping) return;
    for (auto& report : inbox.take_ready()) {
      asio::post(db_strand, [this, report] { process_report(report); });
    }
  }

  // db_strand: load, archive, check.
  void process_report(const InboxReport& report) {
    Disposition d = Disposition::kRetry;
    if (!stopping) {
      set_loading(report.relative);
      try {
        d = load_and_archive(report);
        run_checker();
      } catch (const std::exception& e) {
        spdlog::critical("{}: unexpected error, will try again: {}", report.relative, e.what());
      }
      count_reports_today(true);
      if (auto c = db->open_outbox_counts()) set_outbox_counts(*c);
      set_loading({});
    }
    asio::post(ioc, [this, rel = report.relative, d] {
      inbox.done(rel, d);
      arm_inbox_timer();
    });
    // The loading connection does not checkpoint at commit, so alerts are
    // queued without waiting for the copy. It copies the log here, once
    // they are and the inbox knows the report is done, and before this
    // strand writes again, so that the log starts over instead of growing
    // while reports keep coming.
    if (!stopping) {
      if (auto st = db->checkpoint(Storage::kCheckpointLogBytes); !st.ok()) {
        spdlog::warn("checkpoint: {}", st.message());
      }
    }
  }

  Disposition load_and_archive(const InboxReport& report) {
    const auto began = std::chrono::steady_clock::now();
    auto out = loader->load(report.path, report.relative, &stopping);
    if (out && !out->resumed) {
      metrics.report(to_string(out->status), out->rows, out->changes,
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
    }
    if (!out) {
      const auto& e = out.error();
      switch (e.code()) {
        case ErrorCode::kCancelled:
          spdlog::info("{}: loading stopped by shutdown; nothing of it was loaded; it is loaded "
                       "at the next start", report.relative);
          return Disposition::kRetry;
        case ErrorCode::kNotFound:
          spdlog::warn("{}: vanished before it could be read", report.relative);
          return Disposition::kDone;
        case ErrorCode::kPermission:
          spdlog::error("{}: {}; make it readable by the user stockwatch runs as; it is tried "
                        "again when its permissions change", report.relative, e.message());
          return Disposition::kParked;
        case ErrorCode::kBusy:
          spdlog::info("{}", e.message());
          return Disposition::kRetry;
        default:
          spdlog::error("{}: not loaded, will try again: {}", report.relative, e.message());
          return Disposition::kRetry;
      }
    }
    const bool rejected = out->status == ReportStatus::kRejected;
    if (rejected) {
      spdlog::warn("{}: {}", report.relative, out->summary());
    } else {
      spdlog::info("{}: {}", report.relative, out->summary());
    }
    auto placed = archive_report(archive_options(config), report.path, report.relative, rejected,
                                 out->error);
    if (!placed) {
      spdlog::error("{}: handled ({}) but cannot be archived, will try again: {}", report.relative,
                    to_string(out->status), placed.error().message());
      return Disposition::kRetry;
    }
    // In delete mode nothing is kept; the ledger still records that the
    // report left the inbox.
    const std::string where =
        placed->empty() ? std::string(kDeletedMarker) : printable_name(placed->string());
    if (auto st = db->mark_archived(out->report_id, where); !st.ok()) {
      spdlog::error("{}: archived to {} but the ledger was not updated: {}", report.relative,
                    placed->string(), st.message());
    }
    return Disposition::kDone;
  }

  // db_strand.
  void run_checker() {
    auto n = checker->process_due();
    if (!n) {
      spdlog::error("checker: {}", n.error().message());
      return;
    }
    const CheckerTotals t = checker->totals();
    metrics.alerts("out_of_stock", t.out_of_stock - reported_totals.out_of_stock);
    metrics.alerts("back_in_stock", t.back_in_stock - reported_totals.back_in_stock);
    metrics.alerts("report_rejected", t.report_rejected - reported_totals.report_rejected);
    metrics.messages_queued(t.messages - reported_totals.messages);
    reported_totals = t;
    if (*n > 0) {
      spdlog::info("checker: {} alert message(s) queued", *n);
      asio::post(mail_strand, [this] { run_mailer(); });
    }
  }

  // mail_strand.
  // One mailer step; its outcome goes to the metrics and the health page.
  Result<MailerStep> mailer_step(int limit, const std::atomic<bool>* stop) {
    Result<MailerStep> step = Error(ErrorCode::kInternal, "not run");
    try {
      step = mailer->process_due(limit, stop);
    } catch (const std::exception& e) {
      step = Error(ErrorCode::kInternal, e.what());
    }
    if (step) {
      metrics.emails(step->sent, step->retried, step->dead);
      if (!step->last_result.empty()) {
        std::lock_guard lock(status_mu);
        health_now.smtp_last_result = step->last_result;
        health_now.smtp_last_ok = step->last_sent;
        health_now.smtp_last_at = clock.now();
      }
    }
    return step;
  }

  // The outbox's queued and dead counts, for STATUS= and the metrics.
  std::optional<OutboxCounts> update_outbox_counts() {
    auto c = mail_db->open_outbox_counts();
    if (!c) return std::nullopt;
    set_outbox_counts(*c);
    metrics.outbox_depth(c->queued, c->dead);
    publish_status();
    return *c;
  }

  void run_mailer() {
    if (stopping) return;
    const auto step = mailer_step(100, &stopping);
    update_outbox_counts();
    if (!step) {
      spdlog::error("mailer: {}", step.error().message());
      arm_mail_timer(clock.now() + std::chrono::seconds(5));
      return;
    }
    const bool more_due = step->next_due && *step->next_due <= clock.now();
    if (more_due) {
      asio::post(mail_strand, [this] { run_mailer(); });
    } else {
      const TimePoint recheck = clock.now() + kMailRecheck;
      arm_mail_timer(step->next_due ? std::min(*step->next_due, recheck) : recheck);
    }
  }

  void arm_mail_timer(TimePoint at) {
    if (stopping) return;
    const auto delay = std::max(Duration(0), std::chrono::duration_cast<Duration>(at - clock.now()));
    mail_timer.expires_after(delay);
    mail_timer.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) run_mailer();
    });
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
    if (http) http->stop();
    spdlog::info("stockwatch stopped");
    return 0;
  }
};

int App::serve(const std::optional<std::string>& log_level) {
  Daemon d(config_, clock_, log_level);
  return d.run();
}

// --- One-shot commands ---------------------------------------------------------------

int App::ingest(const std::vector<fs::path>& files, std::ostream& out) {
  if (config_.storage.database.has_parent_path()) ensure_dir(config_.storage.database.parent_path(), "storage.database");
  auto db = Storage::open(config_.storage.database, StorageOptions::from(config_.storage), clock_);
  LoaderOptions options = loader_options(config_);
  options.resume = false;       // files given here are never archived
  options.confine_to.clear();   // and may be anywhere
  Loader loader(*db, clock_, options);
  Checker checker(*db, clock_, config_.alerts);
  int status = 0;
  for (const auto& f : files) {
    const std::string name = f.string();
    auto r = loader.load(f, name);
    if (!r) {
      out << name << ": error: " << r.error().message() << "\n";
      status = 2;
      continue;
    }
    if (r->status == ReportStatus::kRejected) {
      out << name << ": " << r->summary() << "\n";
      if (status == 0) status = 1;
    } else {
      out << name << ": " << r->summary() << "\n";
    }
  }
  auto queued = checker.process_due();
  if (!queued) {
    out << "checker: error: " << queued.error().message() << "\n";
    return 2;
  }
  auto transport = make_transport(config_.smtp);
  Mailer mailer(*db, *transport, clock_, RetryPolicy::from(config_.smtp));
  auto step = mailer.process_due(1000);
  if (!step) {
    out << "mailer: error: " << step.error().message() << "\n";
    return 2;
  }
  out << "alerts: " << *queued << " queued, " << step->sent << " sent";
  if (step->retried) out << ", " << step->retried << " left queued for retry";
  if (step->dead) out << ", " << step->dead << " failed for good";
  out << "\n";
  return status;
}

int App::list_outbox(bool include_sent, std::ostream& out) {
  auto db = Storage::open(config_.storage.database, StorageOptions::from(config_.storage), clock_);
  auto msgs = db->list_outbox(include_sent, 1000);
  if (!msgs) {
    out << "error: " << msgs.error().message() << "\n";
    return 2;
  }
  auto fmt_time = [](TimePoint t) { return format_utc(t, "%Y-%m-%dT%H:%M:%SZ"); };
  out << std::left << std::setw(6) << "ID" << std::setw(8) << "STATE" << std::setw(16) << "EVENT"
      << std::setw(9) << "ATTEMPTS" << std::setw(22) << "NEXT/SENT" << "RECIPIENT  SUBJECT  LAST ERROR\n";
  for (const auto& m : *msgs) {
    out << std::left << std::setw(6) << m.id << std::setw(8) << to_string(m.state) << std::setw(16)
        << m.event << std::setw(9) << m.attempts << std::setw(22)
        << fmt_time(m.state == OutboxState::kSent ? m.sent_at : m.next_attempt_at) << m.recipient
        << "  " << m.subject;
    if (!m.last_error.empty()) out << "  [" << m.last_error << "]";
    out << "\n";
  }
  auto counts = db->outbox_counts();
  if (counts) {
    out << counts->queued << " queued, " << counts->dead << " dead, " << counts->sent << " sent\n";
  }
  return 0;
}

int App::retry_outbox(const std::vector<std::int64_t>& ids, bool all_dead, std::ostream& out) {
  auto db = Storage::open(config_.storage.database, StorageOptions::from(config_.storage), clock_);
  std::vector<std::int64_t> targets = ids;
  if (all_dead) {
    auto msgs = db->list_outbox(false, 100000);
    if (!msgs) {
      out << "error: " << msgs.error().message() << "\n";
      return 2;
    }
    for (const auto& m : *msgs) {
      if (m.state == OutboxState::kDead) targets.push_back(m.id);
    }
  }
  int requeued = 0;
  int status = 0;
  for (auto id : targets) {
    auto r = db->requeue(id, clock_.now());
    if (!r) {
      out << "message " << id << ": error: " << r.error().message() << "\n";
      return 2;
    }
    if (*r) {
      ++requeued;
    } else {
      out << "message " << id << ": not queued again: no dead message has this id\n";
      status = 1;
    }
  }
  out << requeued << " message(s) queued again; the daemon sends them within 30 seconds\n";
  return status;
}

int App::backup(const fs::path& dest, std::ostream& out, std::ostream& err) {
  auto info = Storage::backup(config_.storage.database, dest, config_.storage.busy_timeout_ms);
  if (!info) {
    err << "stockwatch backup: " << info.error().message() << "\n";
    return 1;
  }
  const double mib = static_cast<double>(info->pages * info->page_size) / (1024.0 * 1024.0);
  out << "wrote " << info->file.string() << ": a copy of " << config_.storage.database.string()
      << ", " << info->pages << " pages of " << info->page_size << " bytes (" << std::fixed
      << std::setprecision(1) << mib << " MiB), schema version " << info->schema_version << ", "
      << info->reports << " reports, " << info->inventory_rows << " inventory rows\n";
  return 0;
}

// --- send-test-email -------------------------------------------------------------

int App::send_test_email(const std::vector<std::string>& to, std::ostream& out) {
  std::vector<std::string> recipients;
  const auto add = [&](const std::string& address) {
    if (std::find(recipients.begin(), recipients.end(), address) == recipients.end()) {
      recipients.push_back(address);
    }
  };
  if (!to.empty()) {
    for (const auto& address : to) add(address);
  } else {
    for (const auto& sub : config_.alerts.subscriptions) {
      for (const auto& address : sub.emails) add(address);
    }
  }
  if (recipients.empty()) {
    out << "No address to send to: give --to ADDRESS, or add [[alerts.subscription]] to "
        << config_.source.string() << "\n";
    return 1;
  }

  auto transport = make_transport(config_.smtp);
  const std::string via = transport->describe();
  out << "Sending a test message from " << config_.alerts.from << " through " << via << " to "
      << recipients.size() << (recipients.size() == 1 ? " address" : " addresses")
      << " (not through the outbox).\n";

  const TimePoint now = clock_.now();
  const auto stamp = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::strcpy(host, "localhost");
  std::string subject = config_.alerts.subject;
  subject += subject.empty() ? "Test message" : " Test message";
  const std::string body =
      "This is a test message from stockwatch on " + std::string(host) + ".\n\n"
      "It was sent with `stockwatch send-test-email` through " + via + ", the way\n"
      "stock alerts are sent. If you can read it, alerts reach this address.\n\n"
      "Configuration: " + config_.source.string() + "\n";

  int sent = 0;
  for (const auto& address : recipients) {
    MessageSpec spec{config_.alerts.from, address, subject, body,
                     make_message_id("test", stamp.count(), address, config_.alerts.from), now};
    const SendOutcome outcome =
        transport->send(config_.alerts.from, address, render_message(spec));
    if (outcome.sent()) {
      ++sent;
      out << address << ": sent. " << outcome.detail << "\n";
      continue;
    }
    out << address << ": NOT sent. " << outcome.detail << "\n";
    if (outcome.kind == SendOutcome::Kind::kTransient) {
      out << "  This failure is temporary: the daemon would retry such a message with backoff.\n";
    } else {
      out << "  This failure is permanent: the daemon would mark such a message dead at once.\n";
    }
    if (!outcome.advice.empty()) out << "  What to do: " << outcome.advice << "\n";
  }
  out << sent << " of " << recipients.size() << " test message(s) sent.\n";
  return sent == static_cast<int>(recipients.size()) ? 0 : 1;
}

// --- healthcheck -------------------------------------------------------------------

int App::healthcheck(std::ostream& out) {
  const auto addr = http::parse_listen(config_.http.listen);
  if (!addr) {
    out << "http.listen is empty in " << config_.source.string()
        << ": there is no HTTP server to check\n";
    return 2;
  }
  std::string host = addr->host;
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  const std::string url = "http://" + host + ":" + std::to_string(addr->port) + "/healthz";
  if (curl_global_setup() != CURLE_OK) {
    out << "cannot start libcurl\n";
    return 1;
  }
  CurlEasy curl(curl_easy_init());
  std::string body;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT, 5L);
  curl_easy_setopt(curl.get(), CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION,
                   +[](char* data, std::size_t size, std::size_t n, void* user) -> std::size_t {
                     static_cast<std::string*>(user)->append(data, size * n);
                     return size * n;
                   });
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
  const CURLcode rc = curl_easy_perform(curl.get());
  if (rc != CURLE_OK) {
    out << url << ": " << curl_easy_strerror(rc) << "\n";
    return 1;
  }
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  out << url << ": " << status << " " << body;
  if (body.empty() || body.back() != '\n') out << "\n";
  return status == 200 ? 0 : 1;
}

}  // namespace stockwatch
