// What the daemon has done, as Prometheus metrics (prometheus-cpp), for
// GET /metrics.
//
// Contract: every method may be called from any thread (prometheus-cpp's
// metrics are atomic). The stages do not know about Metrics; the daemon
// records what their results say. serialize() renders the Prometheus text
// exposition format (version 0.0.4).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "pipeline/event.hpp"

namespace stockwatch {

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // A report handled: result is "loaded", "rejected" or "duplicate".
  void report(const std::string& result, std::int64_t rows, std::int64_t changes,
              double seconds);
  // Alert events of one kind found by the checker (labelled with
  // event_name()), and the messages queued for them.
  void alerts(EventKind event, std::int64_t events);
  void messages_queued(std::int64_t n);
  // Delivery attempts: sent, failed for now (will retry), failed for good.
  void emails(std::int64_t sent, std::int64_t retried, std::int64_t dead);
  void outbox_depth(std::int64_t queued, std::int64_t dead);
  // Inbox scans and inotify overflows, as running totals.
  void inbox_totals(std::uint64_t scans, std::uint64_t overflows);
  void http_request(const std::string& route, unsigned status);
  void http_upload_bytes(std::uint64_t bytes);
  // One look at the mailbox (reports by email): mails read from the
  // server, attachments placed in the inbox, mails refused, replies queued,
  // and whether the IMAP server failed.
  void mailbox(int seen, int loaded, int refused, int replies, bool imap_error);
  // The console's server time for one page: from its worker starting the
  // request to the response being ready (the wait in the worker's queue is
  // not in it). `page` is one of the console's fixed route labels
  // ("console_overview", ...), never a store or item name.
  void console_page(const std::string& page, double seconds);

  // Every metric serialized from now on carries the label node="<name>"
  // (empty: none), so that several nodes' metrics stay apart. Call it
  // before other threads use the metrics.
  void set_node(std::string name);

  [[nodiscard]] std::string serialize() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stockwatch
