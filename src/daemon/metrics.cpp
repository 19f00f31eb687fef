#include "daemon/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <mutex>

namespace stockwatch {

namespace prom = prometheus;

struct Metrics::Impl {
  std::shared_ptr<prom::Registry> registry = std::make_shared<prom::Registry>();
  prom::Family<prom::Counter>& reports = prom::BuildCounter()
      .Name("stockwatch_reports_total")
      .Help("Reports handled, by result (loaded, rejected, duplicate)")
      .Register(*registry);
  prom::Counter& rows = prom::BuildCounter()
      .Name("stockwatch_rows_loaded_total")
      .Help("Rows of loaded reports")
      .Register(*registry).Add({});
  prom::Counter& changes = prom::BuildCounter()
      .Name("stockwatch_changes_total")
      .Help("Change records written (rows whose count was new or different)")
      .Register(*registry).Add({});
  prom::Histogram& ingest = prom::BuildHistogram()
      .Name("stockwatch_ingest_duration_seconds")
      .Help("Time to read, check and load one report")
      .Register(*registry)
      .Add({}, prom::Histogram::BucketBoundaries{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300});
  prom::Family<prom::Counter>& alerts = prom::BuildCounter()
      .Name("stockwatch_alerts_total")
      .Help("Alert events found, by event")
      .Register(*registry);
  prom::Counter& queued = prom::BuildCounter()
      .Name("stockwatch_alert_messages_queued_total")
      .Help("Alert emails put in the outbox")
      .Register(*registry).Add({});
  prom::Family<prom::Counter>& emails = prom::BuildCounter()
      .Name("stockwatch_emails_total")
      .Help("Delivery attempts, by result (sent, retry, dead)")
      .Register(*registry);
  prom::Family<prom::Gauge>& outbox = prom::BuildGauge()
      .Name("stockwatch_outbox_messages")
      .Help("Messages in the outbox, by state (queued, dead)")
      .Register(*registry);
  prom::Counter& scans = prom::BuildCounter()
      .Name("stockwatch_inbox_rescans_total")
      .Help("Full scans of the inbox (at start, periodic, after an overflow, polls)")
      .Register(*registry).Add({});
  prom::Counter& overflows = prom::BuildCounter()
      .Name("stockwatch_inbox_overflows_total")
      .Help("inotify event queue overflows (each one causes a full rescan)")
      .Register(*registry).Add({});
  prom::Family<prom::Counter>& http = prom::BuildCounter()
      .Name("stockwatch_http_requests_total")
      .Help("HTTP requests, by route and status code")
      .Register(*registry);
  prom::Counter& upload_bytes = prom::BuildCounter()
      .Name("stockwatch_http_upload_bytes_total")
      .Help("Bytes of reports received over HTTP and placed in the inbox")
      .Register(*registry).Add({});
  prom::Family<prom::Counter>& mailbox = prom::BuildCounter()
      .Name("stockwatch_mailbox_mails_total")
      .Help("Reports by email: mails read from the mailbox (seen), and of them those refused "
            "(not from a [[mailbox.sender]], or not vouched for)")
      .Register(*registry);
  prom::Counter& mailbox_loaded = prom::BuildCounter()
      .Name("stockwatch_mailbox_attachments_loaded_total")
      .Help("Report attachments of mails placed in the inbox to load")
      .Register(*registry).Add({});
  prom::Counter& mailbox_replies = prom::BuildCounter()
      .Name("stockwatch_mailbox_replies_queued_total")
      .Help("Replies to mails put in the outbox")
      .Register(*registry).Add({});
  prom::Counter& mailbox_errors = prom::BuildCounter()
      .Name("stockwatch_mailbox_imap_errors_total")
      .Help("Looks at the mailbox that failed because of the IMAP server or the network")
      .Register(*registry).Add({});
  prom::Family<prom::Histogram>& console_pages = prom::BuildHistogram()
      .Name("stockwatch_console_page_seconds")
      .Help("Console server time per page: from the console's worker starting the request to its "
            "response being ready (without the wait in the worker's queue)")
      .Register(*registry);

  std::mutex mu;   // the running totals below
  std::uint64_t seen_scans = 0;
  std::uint64_t seen_overflows = 0;
  std::string node;  // set before other threads start
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {
  // Known label values exist from the start, so a rate() has a baseline.
  for (const char* r : {"loaded", "rejected", "duplicate"}) impl_->reports.Add({{"result", r}});
  for (const EventKind e : kEventKinds) impl_->alerts.Add({{"event", std::string(event_name(e))}});
  for (const char* r : {"sent", "retry", "dead"}) impl_->emails.Add({{"result", r}});
  for (const char* s : {"queued", "dead"}) impl_->outbox.Add({{"state", s}});
  for (const char* r : {"seen", "refused"}) impl_->mailbox.Add({{"result", r}});
}
Metrics::~Metrics() = default;

void Metrics::report(const std::string& result, std::int64_t rows, std::int64_t changes,
                     double seconds) {
  impl_->reports.Add({{"result", result}}).Increment();
  if (result == "loaded") {
    impl_->rows.Increment(static_cast<double>(rows));
    impl_->changes.Increment(static_cast<double>(changes));
  }
  impl_->ingest.Observe(seconds);
}

void Metrics::alerts(EventKind event, std::int64_t events) {
  if (events > 0) {
    impl_->alerts.Add({{"event", std::string(event_name(event))}})
        .Increment(static_cast<double>(events));
  }
}

void Metrics::messages_queued(std::int64_t n) {
  if (n > 0) impl_->queued.Increment(static_cast<double>(n));
}

void Metrics::emails(std::int64_t sent, std::int64_t retried, std::int64_t dead) {
  if (sent > 0) impl_->emails.Add({{"result", "sent"}}).Increment(static_cast<double>(sent));
  if (retried > 0) impl_->emails.Add({{"result", "retry"}}).Increment(static_cast<double>(retried));
  if (dead > 0) impl_->emails.Add({{"result", "dead"}}).Increment(static_cast<double>(dead));
}

void Metrics::outbox_depth(std::int64_t queued, std::int64_t dead) {
  impl_->outbox.Add({{"state", "queued"}}).Set(static_cast<double>(queued));
  impl_->outbox.Add({{"state", "dead"}}).Set(static_cast<double>(dead));
}

void Metrics::inbox_totals(std::uint64_t scans, std::uint64_t overflows) {
  std::lock_guard lock(impl_->mu);
  if (scans > impl_->seen_scans) {
    impl_->scans.Increment(static_cast<double>(scans - impl_->seen_scans));
    impl_->seen_scans = scans;
  }
  if (overflows > impl_->seen_overflows) {
    impl_->overflows.Increment(static_cast<double>(overflows - impl_->seen_overflows));
    impl_->seen_overflows = overflows;
  }
}

void Metrics::http_request(const std::string& route, unsigned status) {
  impl_->http.Add({{"route", route}, {"status", std::to_string(status)}}).Increment();
}

void Metrics::http_upload_bytes(std::uint64_t bytes) {
  impl_->upload_bytes.Increment(static_cast<double>(bytes));
}

void Metrics::mailbox(int seen, int loaded, int refused, int replies, bool imap_error) {
  if (seen > 0) impl_->mailbox.Add({{"result", "seen"}}).Increment(seen);
  if (refused > 0) impl_->mailbox.Add({{"result", "refused"}}).Increment(refused);
  if (loaded > 0) impl_->mailbox_loaded.Increment(loaded);
  if (replies > 0) impl_->mailbox_replies.Increment(replies);
  if (imap_error) impl_->mailbox_errors.Increment();
}

void Metrics::console_page(const std::string& page, double seconds) {
  // Fine buckets below 50 ms (the console's target), coarse above.
  static const prom::Histogram::BucketBoundaries kBuckets{
      0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05,
      0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  impl_->console_pages.Add({{"page", page}}, kBuckets).Observe(seconds);
}

void Metrics::set_node(std::string name) { impl_->node = std::move(name); }

std::string Metrics::serialize() const {
  prom::TextSerializer serializer;
  auto families = impl_->registry->Collect();
  if (!impl_->node.empty()) {
    for (auto& family : families) {
      for (auto& metric : family.metric) metric.label.push_back({"node", impl_->node});
    }
  }
  return serializer.Serialize(families);
}

}  // namespace stockwatch
