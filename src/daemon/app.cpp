#include "daemon/app.hpp"

#include "os/host_name.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <iterator>
#include <optional>
#include <string>

#include "daemon/daemon.hpp"
#include "daemon/folders.hpp"
#include "daemon/mute_command.hpp"
#include "daemon/user_command.hpp"
#include "http/http_service.hpp"
#include "notify/curl_handle.hpp"
#include "notify/alert.hpp"
#include "notify/mailer.hpp"
#include "notify/channel.hpp"
#include "notify/message.hpp"
#include "notify/transport.hpp"
#include "pipeline/checker.hpp"
#include "pipeline/loader.hpp"
#include "pipeline/report_stage.hpp"
#include "pipeline/template_source.hpp"
#include "report/template/template_writer.hpp"
#include "store/migrate.hpp"
#include "text/masked_password.hpp"
#include "store/storage.hpp"

namespace stockwatch {

namespace fs = std::filesystem;

App::App(Config config, const Clock& clock) : config_(std::move(config)), clock_(clock) {}
App::~App() = default;

int App::serve(const std::optional<std::string>& log_level) {
  // One daemon per database, held until it has stopped.
  ensure_database_dir(config_.storage);
  auto lock = Storage::lock_instance(config_.storage.location());
  if (!lock) throw std::runtime_error(lock.error().message());
  // The console's times, before any thread starts (the zone is the
  // process's, read by localtime_r).
  if (!config_.console.timezone.empty()) {
    ::setenv("TZ", config_.console.timezone.c_str(), 1);
    ::tzset();
  }
  Daemon daemon(config_, clock_, log_level);
  return daemon.run();
}

// --- One-shot commands ---------------------------------------------------------------

int App::ingest(const std::vector<fs::path>& files, std::ostream& out) {
  ensure_database_dir(config_.storage);
  auto db = Storage::open(config_.storage.location(), StorageOptions::from(config_.storage), clock_);
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
  mailer.set_claim_lease(std::chrono::seconds(config_.storage.claim_lease_s));
  const auto channels = Channels::from(config_, nullptr);
  mailer.set_channels(channels.get());
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

namespace {

// Queued and dead messages, newest first, at most `limit`, without bodies.
Result<std::vector<OutboxMessage>> open_messages(Storage& db, int limit) {
  auto queued = db.outbox_page(0, OutboxState::kQueued, limit);
  if (!queued) return queued.error();
  auto dead = db.outbox_page(0, OutboxState::kDead, limit);
  if (!dead) return dead.error();
  std::vector<OutboxMessage> open;
  std::merge(std::make_move_iterator(queued->begin()), std::make_move_iterator(queued->end()),
             std::make_move_iterator(dead->begin()), std::make_move_iterator(dead->end()),
             std::back_inserter(open),
             [](const OutboxMessage& a, const OutboxMessage& b) { return a.id > b.id; });
  if (open.size() > static_cast<std::size_t>(limit)) open.resize(static_cast<std::size_t>(limit));
  return open;
}

}  // namespace

int App::list_outbox(bool include_sent, std::ostream& out) {
  auto db = Storage::open(config_.storage.location(), StorageOptions::from(config_.storage), clock_);
  // Without the bodies: the listing shows subjects, and an old queued
  // message's body can be large.
  constexpr int kLimit = 1000;
  auto msgs = include_sent ? db->outbox_page(0, std::nullopt, kLimit) : open_messages(*db, kLimit);
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
        << fmt_time(m.state == OutboxState::kSent ? m.sent_at : m.next_attempt_at)
        << shown_recipient(m)
        << "  " << outbox_subject(m);
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
  auto db = Storage::open(config_.storage.location(), StorageOptions::from(config_.storage), clock_);
  std::vector<std::int64_t> targets = ids;
  if (all_dead) {
    auto dead = db->outbox_ids(OutboxState::kDead, 100000);
    if (!dead) {
      out << "error: " << dead.error().message() << "\n";
      return 2;
    }
    targets.insert(targets.end(), dead->begin(), dead->end());
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
  auto info = Storage::backup(config_.storage.location(), dest, config_.storage.busy_timeout_ms);
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

// --- migrate ---------------------------------------------------------------------------

int App::migrate(const std::string& url, std::ostream& out, std::ostream& err) {
  if (config_.storage.backend != "sqlite") {
    err << "stockwatch migrate: the configuration's storage is already " << config_.storage.backend
        << "; migrate copies the SQLite database that storage.database names\n";
    return 1;
  }
  if (!url.starts_with("postgresql://") && !url.starts_with("postgres://")) {
    err << "stockwatch migrate: --to must be a postgresql:// URL, like "
           "postgresql://stockwatch@db.example.com:5432/stockwatch\n";
    return 1;
  }
  StorageOptions options = StorageOptions::from(config_.storage);
  if (options.password.empty() && !config_.storage.password_file.empty()) {
    std::ifstream in(config_.storage.password_file);
    std::getline(in, options.password);
  }
  auto copied = migrate_to_postgresql(config_.storage.database, url, options, clock_);
  if (!copied) {
    err << "stockwatch migrate: " << copied.error().message() << "\n";
    return 1;
  }
  out << "copied " << config_.storage.database.string() << " into " << mask_password(url)
      << ":\n";
  for (const auto& t : *copied) out << "  " << t.table << ": " << t.rows << " rows\n";
  out << "the row counts agree. To use it, set in [storage]: backend = \"postgresql\" and url = "
         "\"" << mask_password(url) << "\" (docs/scaling.md)\n";
  return 0;
}

// --- template ------------------------------------------------------------------------

int App::write_template(const std::string& store, const fs::path& output,
                        const std::string& language, std::ostream& out, std::ostream& err) {
  auto db = Storage::open(config_.storage.database, StorageOptions::from(config_.storage), clock_);
  auto sheet = template_sheet_of(*db, store);
  if (!sheet) {
    err << "stockwatch template: " << sheet.error().message() << "\n";
    return 1;
  }
  const Catalog& catalog = catalog_for(language);
  const Status written = stockwatch::write_template(*sheet, catalog, config_.report.aliases, output);
  if (!written.ok()) {
    err << "stockwatch template: " << written.message() << "\n";
    return 1;
  }
  out << "wrote " << output.string() << ": the stock-count sheet of " << sheet->store << ", "
      << sheet->items.size() << (sheet->items.size() == 1 ? " item" : " items")
      << "; fill in the column \"" << template_headers(catalog, config_.report.aliases).count
      << "\" and deliver it as the store's report\n";
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
  const std::string host = host_name();
  std::string subject = config_.alerts.subject;
  subject += subject.empty() ? "Test message" : " Test message";
  const std::string body =
      "This is a test message from stockwatch on " + host + ".\n\n"
      "It was sent with `stockwatch send-test-email` through " + via + ", the way\n"
      "stock alerts are sent. If you can read it, alerts reach this address.\n\n"
      "Configuration: " + config_.source.string() + "\n";

  int sent = 0;
  for (const auto& address : recipients) {
    MessageSpec spec{config_.alerts.from, address, subject, body,
                     make_message_id("test", stamp.count(), address, config_.alerts.from), now,
                     {}, {}};
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

int App::user(const UserCommand& command, std::istream& in, bool terminal, std::ostream& out,
              std::ostream& err) {
  return run_user_command(config_, clock_, command, in, terminal, out, err);
}

int App::mute(const MuteCommand& command, std::ostream& out, std::ostream& err) {
  return run_mute_command(config_, clock_, command, out, err);
}

}  // namespace stockwatch
