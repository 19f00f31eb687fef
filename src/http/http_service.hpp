// The HTTP side of the daemon as one unit: its own thread and io_context,
// its own read connection to the database, the upload staging area, the
// S3 endpoint and the routes.
//
// Contract:
// - The constructor opens what it needs and binds http.listen; it throws
//   std::runtime_error or std::invalid_argument (start-up errors: the
//   address is taken, the database cannot be opened, inbox.bucket cannot
//   be a bucket). start() runs the thread.
// - `placed` (optional) is called on the HTTP thread with the inbox-relative
//   name of each report an S3 upload placed whole in the inbox, so the
//   inbox can take it at once instead of waiting for it to settle.
// - Nothing on the HTTP thread blocks the daemon's event loop: uploads,
//   their digests and fsyncs, and API queries all run on the HTTP thread.
//   With [console] enabled, the web console (http/console/console.hpp) runs
//   its pages on a worker thread of its own, with its own connections; its
//   uploads are placed through the S3 gateway's staging, on the HTTP thread,
//   and `placed` is told of them too. stop() ends the HTTP thread first,
//   then the console's worker.
// - stop() stops accepting, closes every connection (uploads in flight are
//   discarded: a client sees the connection drop and retries), and joins
//   the thread. The destructor stops too. reload() and stop() may be
//   called from any thread.
#pragma once

#include <memory>

#include "base/clock.hpp"
#include "config/config.hpp"
#include "http/api/http_routes.hpp"
#include "http/s3/s3_gateway.hpp"
#include "http/site.hpp"

namespace stockwatch {

class Metrics;

class HttpService {
 public:
  HttpService(const Config& config, const Clock& clock, Metrics& metrics, HealthSource health,
              PlacedReport placed = {}, ArrivingReport arriving = {});
  ~HttpService();
  HttpService(const HttpService&) = delete;
  HttpService& operator=(const HttpService&) = delete;

  void start();
  void stop();
  // New credentials, token and upload limits; the address is kept.
  void reload(const Config& config);
  [[nodiscard]] unsigned short port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stockwatch
